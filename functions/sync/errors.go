package sync

import (
	"fmt"

	"github.com/changerelay/changerelay/functions/changeevent"
)

// invalidDoc wraps a field-type error of a source document.
func invalidDoc(err error) error {
	return fmt.Errorf("%w: %w", changeevent.ErrInvalid, err)
}
