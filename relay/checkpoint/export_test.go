package checkpoint

// Len is the number of positions the tracker holds (for tests).
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries) - t.head
}
