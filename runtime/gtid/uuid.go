package gtid

// UUID is a MySQL server UUID (@@server_uuid), the source part of a GTID.
// Its String form is lower case, as MySQL prints it.
type UUID [16]byte

// uuidTextLen is the length of the 8-4-4-4-12 form, the only one MySQL
// accepts inside a GTID set (it parses exactly Uuid::TEXT_LENGTH bytes).
const uuidTextLen = 36

// ParseUUID reads "3E11FA47-71CA-11E1-9E33-C80AA9429562" in either case.
// Surrounding whitespace is ignored.
func ParseUUID(text string) (UUID, error) {
	s := &scanner{kind: "uuid", text: text}
	start, end := trimSpace(text)
	s.pos = start
	u, err := s.uuid()
	if err != nil {
		return UUID{}, err
	}
	if s.pos != end {
		return UUID{}, s.errorf(s.pos, "expected end of uuid")
	}
	return u, nil
}

// uuid reads 36 bytes of dashed hex at the scanner's position.
func (s *scanner) uuid() (UUID, *ParseError) {
	var u UUID
	if len(s.text)-s.pos < uuidTextLen {
		return u, s.errorf(s.pos, "expected a UUID")
	}
	text := s.text[s.pos : s.pos+uuidTextLen]
	j := 0
	for i := 0; i < uuidTextLen; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if text[i] != '-' {
				return u, s.errorf(s.pos+i, "expected a UUID")
			}
			continue
		}
		hi, ok1 := unhex(text[i])
		lo, ok2 := unhex(text[i+1])
		if !ok1 || !ok2 {
			return u, s.errorf(s.pos+i, "expected a UUID")
		}
		u[j] = hi<<4 | lo
		j++
		i++
	}
	s.pos += uuidTextLen
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

// String is the lower-case 8-4-4-4-12 form.
func (u UUID) String() string {
	return string(u.appendTo(make([]byte, 0, uuidTextLen)))
}

func (u UUID) appendTo(b []byte) []byte {
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}
