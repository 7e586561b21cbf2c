package claims

import "testing"

// TestEncodeVectors are hasura-auth's token-value vectors, and the cases
// its encoding got wrong.
func TestEncodeVectors(t *testing.T) {
	tests := []struct {
		in   string // JSON
		want string // "-" for no value
	}{
		{`"custom-claim-value"`, "custom-claim-value"},
		{`123.456`, "123.456"},
		{`123`, "123"},
		{`{"k1":"v1","k2":"v2"}`, `{"k1":"v1","k2":"v2"}`},
		{`["a","b","c"]`, `{"a","b","c"}`},
		{`[]`, `{}`},
		{`["a"]`, `{"a"}`},
		{`12345678901234567890`, "12345678901234567890"},
		{`[12345678901234567890, 1.5]`, `{"12345678901234567890","1.5"}`},
		{`true`, "true"},
		{`[true, null, "null", ""]`, `{"true",NULL,"null",""}`},
		{`["<a>&b", "x\ny", "q\"\\"]`, "{\"<a>&b\",\"x\ny\",\"q\\\"\\\\\"}"},
		{`[{"a":1}]`, `{"{\"a\":1}"}`},
		{`null`, "-"},
	}
	for _, tt := range tests {
		v, err := decodeJSON([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(%s): %v", tt.in, err)
		}
		if !ok {
			got = "-"
		}
		if got != tt.want {
			t.Errorf("Encode(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	v, _ := decodeJSON([]byte(`[["a"]]`))
	if _, _, err := Encode(v); err == nil {
		t.Error("Encode([[\"a\"]]): a nested array must be refused")
	}
}
