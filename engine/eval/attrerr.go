package eval

import (
	"errors"

	"github.com/runbook-hpc/runbook/steps"
)

func asAttrError(err error) (string, bool) {
	var ae *steps.AttrError
	if errors.As(err, &ae) {
		return ae.Attr, true
	}
	return "", false
}
