package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// compactWithJSON is writeCompact as it was, on encoding/json: the
// reference appendCompact must agree with on every input.
func compactWithJSON(b *bytes.Buffer, v []byte) {
	if v == nil {
		b.WriteString("null")
		return
	}
	if err := json.Compact(b, v); err != nil {
		b.Write(v)
	}
}

// checkCompact fails the test unless writeCompact and json.Compact write the
// same bytes after a common prefix, and reports whether src is valid JSON.
func checkCompact(t *testing.T, src []byte) bool {
	t.Helper()
	var got, want bytes.Buffer
	got.WriteString(`{"data":`)
	want.WriteString(`{"data":`)
	writeCompact(&got, src)
	compactWithJSON(&want, src)
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("writeCompact(%q)\n got %q\nwant %q", src, got.Bytes(), want.Bytes())
	}
	_, ok := appendCompact(nil, src)
	if ok != json.Valid(src) {
		t.Errorf("appendCompact(%q) valid = %v, json.Valid says %v", src, ok, !ok)
	}
	return ok
}

var compactCases = []struct {
	name, src string
	valid     bool
}{
	{"PostgreSQL object", `{"id" : 1, "title" : "Hello", "author" : {"id" : 2, "name" : "Ann"}}`, true},
	{"PostgreSQL json_agg", "[{\"id\":1}, \n {\"id\":2}, \n {\"id\":3}]", true},
	{"whitespace everywhere", " \t\r\n{ \"a\" \n:\t[ 1 , 2 ,\r\n{ } , [ ] ] , \"b\" : null } \n", true},
	{"spaces inside strings kept", `{"a b" : " x \t y ", "c" : "  "}`, true},
	{"escaped quotes", `["a\"b", "\"", "\\\"", "x\\\\"]`, true},
	{"backslash before closing quote", `["\\", "a\\" , "b"]`, true},
	{"all escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \uFFFF"`, true},
	{"raw unicode", `{"name" : "Zoë — 日本語 😀", "k" : "\u2028 \u2029"}`, true},
	{"raw U+2028 kept", "[\"\u2028\", \"\u2029\", \"<&>\"]", true},
	{"invalid UTF-8 in a string", "[\"\xff\xfe\" , 1]", true},
	{"numbers", `[0, -0, 1, -12, 3.25, -0.5, 1e10, 1E+2, 2e-3, 12.5E-07, 123456789012345678901234567890]`, true},
	{"literals", `[true , false , null]`, true},
	{"scalars", `  42  `, true},
	{"empty string", `""`, true},
	{"empty containers", `{ } `, true},
	{"nested", `[[[[{"a" : [[{"b" : {"c" : []}}]]}]]]]`, true},
	{"already compact", `{"a":[1,2,{"b":"c"}]}`, true},
	{"empty", ``, false},
	{"only spaces", "  \n ", false},
	{"unterminated string", `{"a" : "b}`, false},
	{"unterminated object", `{"a" : 1`, false},
	{"unterminated array", `[1, 2`, false},
	{"trailing comma", `[1, 2, ]`, false},
	{"trailing object comma", `{"a":1,}`, false},
	{"missing colon", `{"a" 1}`, false},
	{"non-string key", `{1 : 2}`, false},
	{"mismatched close", `[1}`, false},
	{"extra close", `[1]]`, false},
	{"two values", `1 2`, false},
	{"leading zero", `01`, false},
	{"bare minus", `-`, false},
	{"dot without digits", `1.`, false},
	{"exponent without digits", `1e+`, false},
	{"plus sign", `+1`, false},
	{"truncated literal", `tru`, false},
	{"literal with tail", `nullx`, false},
	{"capitalised literal", `True`, false},
	{"bad escape", `"\x"`, false},
	{"short unicode escape", `"\u12"`, false},
	{"bad hex", `"\u12G4"`, false},
	{"control character in string", "\"a\tb\"", false},
	{"NUL in string", "\"a\x00b\"", false},
	{"single quotes", `{'a' : 1}`, false},
	{"form feed is not JSON whitespace", "\f1", false},
	{"text after a value", `{"a":1} x`, false},
}

func TestCompactMatchesEncodingJSON(t *testing.T) {
	for _, tc := range compactCases {
		t.Run(tc.name, func(t *testing.T) {
			if valid := checkCompact(t, []byte(tc.src)); valid != tc.valid {
				t.Errorf("valid = %v, want %v", valid, tc.valid)
			}
		})
	}
	t.Run("nil is null", func(t *testing.T) {
		var b bytes.Buffer
		writeCompact(&b, nil)
		if b.String() != "null" {
			t.Errorf("got %q", b.String())
		}
	})
	t.Run("depth limit", func(t *testing.T) {
		for _, depth := range []int{maxCompactDepth - 1, maxCompactDepth, maxCompactDepth + 1} {
			arr := strings.Repeat("[ ", depth) + strings.Repeat("] ", depth)
			obj := strings.Repeat(`{"a" : `, depth) + "1" + strings.Repeat("}", depth)
			for _, src := range []string{arr, obj} {
				if valid := checkCompact(t, []byte(src)); valid != (depth <= maxCompactDepth) {
					t.Errorf("depth %d: valid = %v", depth, valid)
				}
			}
		}
	})
}

// FuzzCompact checks appendCompact against json.Compact on any input: the
// same output for valid JSON, the input unchanged for invalid JSON.
func FuzzCompact(f *testing.F) {
	for _, tc := range compactCases {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkCompact(t, src)
	})
}

// BenchmarkWriteCompact compacts PostgreSQL's own text for the
// articles(limit: 20) { id title author { id name } } response of issue 5.
func BenchmarkWriteCompact(b *testing.B) {
	conn := pgtest.Connect(b, pgtest.ServerURL(b))
	var src []byte
	err := conn.QueryRow(context.Background(), `
		SELECT coalesce(json_agg(json_build_object('id', g, 'title', 'Article number ' || g || ' about "JSON" \ things',
			'author', json_build_object('id', g % 7, 'name', 'Author ' || (g % 7) || ' Zoë')) ORDER BY g), '[]')::text
		FROM generate_series(1, 20) AS g`).Scan(&src)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d bytes from PostgreSQL, starting %.120q", len(src), src)
	for _, impl := range []struct {
		name  string
		write func(*bytes.Buffer, []byte)
	}{{"encoding-json", compactWithJSON}, {"appendCompact", writeCompact}} {
		b.Run(impl.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				impl.write(&buf, src)
			}
		})
	}
}
