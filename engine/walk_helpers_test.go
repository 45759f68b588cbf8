package engine_test

import "github.com/runbook-hpc/runbook/engine/evidence"

func evidenceRedactor(secrets ...string) *evidence.Redactor { return evidence.NewRedactor(secrets...) }
