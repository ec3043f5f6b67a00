package changeevent

import "strings"

// Touches reports whether an update changed (set, removed or truncated) the
// top-level field name or anything under it. Non-update events touch every
// field.
func (ev *Event) Touches(name string) bool {
	if ev.Op != OpUpdate {
		return true
	}
	if ev.Updated != nil {
		elems, _ := ev.Updated.Elements()
		for _, e := range elems {
			if underField(e.Key(), name) {
				return true
			}
		}
	}
	for _, p := range ev.Removed {
		if underField(p, name) {
			return true
		}
	}
	for _, p := range ev.Truncated {
		if underField(p, name) {
			return true
		}
	}
	return false
}

// KeyString renders DocID as a map key: equal keys for equal BSON values.
func (ev *Event) KeyString() string {
	return string(rune(ev.DocID.Type)) + string(ev.DocID.Value)
}

func underField(path, name string) bool {
	head, _, _ := strings.Cut(path, ".")
	return head == name
}
