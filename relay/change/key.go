package change

import (
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// OrderingKey returns the key that orders ev among its route's events.
// For "documentKey" it is the documentKey; for a path it is the value at
// that path in fullDocument, else in fullDocumentBeforeChange, else (a
// delete without a pre-image, say) the documentKey.
func OrderingKey(ev bson.Raw, path string) string {
	if path != "" && path != "documentKey" {
		parts := strings.Split(path, ".")
		for _, image := range []string{"fullDocument", "fullDocumentBeforeChange"} {
			doc, ok := ev.Lookup(image).DocumentOK()
			if !ok {
				continue
			}
			if v, err := doc.LookupErr(parts...); err == nil {
				return "p:" + keyString(v)
			}
		}
	}
	if dk, err := ev.LookupErr("documentKey"); err == nil {
		return "d:" + keyString(dk)
	}
	id, _ := ev.LookupErr("_id")
	return "t:" + keyString(id)
}

// keyString renders a BSON value so that equal values give equal strings.
func keyString(v bson.RawValue) string {
	return string(rune(v.Type)) + string(v.Value)
}
