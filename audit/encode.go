package audit

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent appends ev as a JSON object to dst, byte for byte what json.Marshal(ev)
// writes (FuzzAppendEvent holds it to that), without reflection or allocation: it runs on
// the request path for every pull. Events with the rarer structured fields (token scopes,
// files, a gc summary) go through json.Marshal.
func appendEvent(dst []byte, ev *Event) ([]byte, error) {
	if ev.Asked != nil || ev.Granted != nil || ev.Files != nil || ev.GC != nil || !jsonTime(ev.Time) {
		b, err := json.Marshal(ev)
		return append(dst, b...), err
	}
	dst = append(dst, `{"time":"`...)
	dst = ev.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","kind":`...)
	dst = appendJSONString(dst, string(ev.Kind))
	dst = appendField(dst, "request_id", ev.RequestID)
	dst = appendField(dst, "client_ip", ev.ClientIP)
	dst = appendField(dst, "user_agent", ev.UserAgent)
	dst = appendField(dst, "user", ev.User)
	dst = appendField(dst, "auth", ev.Auth)
	dst = appendField(dst, "account", ev.Account)
	dst = appendField(dst, "repository", ev.Repository)
	if len(ev.Actions) > 0 {
		dst = append(dst, `,"actions":[`...)
		for i, a := range ev.Actions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, a)
		}
		dst = append(dst, ']')
	}
	dst = appendField(dst, "reference", ev.Reference)
	dst = appendField(dst, "from", ev.From)
	dst = appendField(dst, "digest", ev.Digest)
	dst = appendField(dst, "media_type", ev.MediaType)
	dst = appendField(dst, "method", ev.Method)
	dst = appendField(dst, "path", ev.Path)
	dst = appendField(dst, "decision", ev.Decision)
	dst = appendField(dst, "reason", ev.Reason)
	dst = appendField(dst, "outcome", ev.Outcome)
	dst = appendIntField(dst, "status", int64(ev.Status))
	dst = appendIntField(dst, "bytes_in", ev.BytesIn)
	dst = appendIntField(dst, "bytes_out", ev.BytesOut)
	if ev.DurationMS != 0 {
		if math.IsInf(ev.DurationMS, 0) || math.IsNaN(ev.DurationMS) {
			b, err := json.Marshal(ev) // the error json.Marshal gives
			return append(dst, b...), err
		}
		dst = append(dst, `,"duration_ms":`...)
		dst = appendJSONFloat(dst, ev.DurationMS)
	}
	dst = appendField(dst, "config", ev.Config)
	dst = appendField(dst, "error", ev.Error)
	return append(dst, '}'), nil
}

// jsonTime reports whether t is one time.Time.MarshalJSON accepts (years 0 to 9999).
func jsonTime(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

// appendField appends ,"name":"value" unless value is empty (omitempty).
func appendField(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendJSONString(dst, value)
}

// appendIntField appends ,"name":value unless value is 0 (omitempty).
func appendIntField(dst []byte, name string, value int64) []byte {
	if value == 0 {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return strconv.AppendInt(dst, value, 10)
}

// appendJSONFloat writes f as encoding/json does (ES6 number formatting).
func appendJSONFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted as encoding/json does with HTML escaping on: quotes,
// backslashes and control characters escaped, <, > and & as \u003c, \u003e, \u0026,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped. No byte a client sends can end the
// line or the string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
