package auth

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkJWTAuthenticate measures one request of a client that sends the
// same HS256 token with every request, as the benchmark of issue 5 does.
func BenchmarkJWTAuthenticate(b *testing.B) {
	k := keys(b)
	a := jwtAuth(b, jsonString(b, map[string]string{"type": "HS256", "key": k.hmac[:32]}), newClock())
	tok := sign(b, jwt.SigningMethodHS256, []byte(k.hmac[:32]), userClaims(map[string]any{"iss": "https://issuer.example", "aud": "rowguard"}), nil)
	r := bearer(tok)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, r); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authenticate(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8) // 16 goroutines on 2 cores, as under wrk
		b.RunParallel(func(pb *testing.PB) {
			r := bearer(tok)
			for pb.Next() {
				if _, err := a.Authenticate(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
