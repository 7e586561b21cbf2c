package migrations

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestInstallErrorSaysWhatToDo: PostgreSQL's hint survives, and running
// out of lock space tells how many locks the script needs and which
// setting to raise.
func TestInstallErrorSaysWhatToDo(t *testing.T) {
	script := "BEGIN;\n" + strings.Repeat("CREATE POLICY p ON t USING (true);\nCOMMENT ON POLICY p ON t IS 'x';\n", 10000)
	pgErr := &pgconn.PgError{Severity: "ERROR", Code: "53200", Message: "out of shared memory", Hint: "You might need to increase max_locks_per_transaction."}
	err := installError(fmt.Errorf("exec: %w", pgErr), script)
	for _, want := range []string{"out of shared memory", "HINT: You might need to increase max_locks_per_transaction.", "about 20000 locks", "max_locks_per_transaction = 256", "nothing was installed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !errors.As(err, &pgErr) {
		t.Error("the PostgreSQL error is no longer wrapped")
	}
	other := &pgconn.PgError{Severity: "ERROR", Code: "42601", Message: "syntax error"}
	if got := installError(other, script).Error(); got != other.Error() {
		t.Errorf("an error without hint or detail changed: %q", got)
	}
}
