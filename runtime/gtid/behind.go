package gtid

// Behind counts the transactions of s that have lacks, for progress
// figures ("812 transactions behind"), not for decisions. On MySQL it is
// every GTID of s.Subtract(have). A MariaDB position keeps only the last
// GTID of each domain, and seq_no counts up within a domain, so there it is
// the sum, over the domains where s is ahead, of how far ahead it is: an
// estimate when seq_nos were skipped (gtid_strict_mode off).
func (s Set) Behind(have Set) (uint64, error) {
	if err := s.sameFlavor(have, "behind"); err != nil {
		return 0, err
	}
	var n uint64
	if s.flavor == MySQL {
		for _, e := range s.mysql.Subtract(have.mysql).entries {
			for _, iv := range e.ivs {
				n += iv.end - iv.start + 1
			}
		}
		return n, nil
	}
	for _, g := range s.mariadb.gtids {
		h, ok := have.mariadb.Domain(g.Domain)
		switch {
		case !ok:
			n += g.Seq
		case g.Seq > h.Seq:
			n += g.Seq - h.Seq
		}
	}
	return n, nil
}
