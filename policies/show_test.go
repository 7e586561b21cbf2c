package policies

import (
	"fmt"
	"strings"
)

// show renders a BoolExp compactly for test comparisons.
func show(e BoolExp) string {
	switch e := e.(type) {
	case *And:
		return "and(" + showList(e.Items) + ")"
	case *Or:
		return "or(" + showList(e.Items) + ")"
	case *Not:
		return "not(" + show(e.Item) + ")"
	case *Exists:
		return "exists " + e.Table.String() + "(" + show(e.Where) + ")"
	case *Field:
		if e.Nested != nil {
			return e.Name + "{" + show(e.Nested) + "}"
		}
		var parts []string
		for _, c := range e.Comparisons {
			parts = append(parts, c.Op+" "+showValue(c.Value))
		}
		if len(parts) == 0 {
			return e.Name
		}
		return e.Name + " " + strings.Join(parts, " ")
	}
	return fmt.Sprintf("%T", e)
}

func showList(items []BoolExp) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, show(it))
	}
	return strings.Join(parts, ", ")
}

func showValue(v Value) string {
	switch v := v.(type) {
	case *Literal:
		return fmt.Sprint(v.V)
	case *SessionVar:
		return "$" + v.Name
	case *ColumnRef:
		if v.Root {
			return "$." + v.Column
		}
		return v.Column
	case *List:
		var parts []string
		for _, it := range v.Items {
			parts = append(parts, showValue(it))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "?"
}
