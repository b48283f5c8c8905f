package sim

// ReadSlot returns a copy of the first n bytes of slot 0 (primary) or 1
// (secondary) as they are in the board's flash, for tests that check what
// a host wrote by reading the flash back.
func (b *Board) ReadSlot(slot, n int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.slotByNumber(slot)
	return s.flash.Read(s.off, min(n, s.size))
}
