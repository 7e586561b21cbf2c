package console_test

import (
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
