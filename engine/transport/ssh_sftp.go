package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"
)

// sftpClient returns the SFTP client, started on first use over the same
// connection (one more channel, no second login).
func (s *SSH) sftpClient() (*sftp.Client, error) {
	s.sftpMu.Lock()
	defer s.sftpMu.Unlock()
	select {
	case <-s.dead:
		return nil, s.lost(s.deadErr)
	default:
	}
	if s.sftp != nil {
		return s.sftp, nil
	}
	c, err := s.client.NewSftp()
	if err != nil {
		return nil, s.sessionErr("start sftp", err)
	}
	s.sftp = c
	return c, nil
}

// fileErr maps an SFTP error: ErrNotExist for a missing file,
// ErrConnectionLost when the connection died under us.
func (s *SSH) fileErr(op, p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s: %w", op, p, ErrNotExist)
	}
	select {
	case <-s.dead:
		return s.lost(err)
	default:
	}
	return fmt.Errorf("sftp %s %s on %s: %w", op, p, s.cfg.dest(), err)
}

// ReadFile implements FileTransport.
func (s *SSH) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.sftpClient()
	if err != nil {
		return nil, err
	}
	f, err := c.Open(p)
	if err != nil {
		return nil, s.fileErr("read", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, s.fileErr("read", p, err)
	}
	return b, nil
}

// WriteFile implements FileTransport: the content goes to a temp file in
// the same directory, gets its mode, and is renamed over the target with
// posix-rename@openssh.com, so readers see the old or the new file, never
// half of one. Files are written as the login user (SFTP has no sudo).
func (s *SSH) WriteFile(ctx context.Context, p string, content []byte, mode uint32) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.sftpClient()
	if err != nil {
		return err
	}
	rnd := make([]byte, 6)
	if _, err := rand.Read(rnd); err != nil {
		return err
	}
	dir, base := path.Split(p)
	tmp := path.Join(dir, "."+base+".runbook-"+hex.EncodeToString(rnd))
	f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return s.fileErr("write", p, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = c.Remove(tmp)
		}
	}()
	if _, err := f.Write(content); err != nil {
		return s.fileErr("write", tmp, err)
	}
	if err := f.Chmod(fs.FileMode(mode) & fs.ModePerm); err != nil {
		return s.fileErr("chmod", tmp, err)
	}
	if err := f.Close(); err != nil {
		return s.fileErr("write", tmp, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
		if err := c.PosixRename(tmp, p); err != nil {
			return s.fileErr("rename", p, err)
		}
		return nil
	}
	// Plain SFTP rename fails when the target exists; this fallback is not
	// atomic, which is why posix-rename is preferred above.
	if err := c.Rename(tmp, p); err != nil {
		if rerr := c.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return s.fileErr("rename", p, err)
		}
		if err := c.Rename(tmp, p); err != nil {
			return s.fileErr("rename", p, err)
		}
	}
	return nil
}
