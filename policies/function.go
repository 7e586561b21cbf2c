package policies

// ComputedField is a table's field computed by a SQL function that takes
// the table's row (`computed_fields` in table metadata). A function
// returning a scalar makes a scalar field; one returning SETOF a table
// makes an array of that table's rows.
type ComputedField struct {
	Pos      Pos
	Name     string
	Function QualifiedTable
	// TableArgument names the function's argument that receives the row;
	// empty means the first argument.
	TableArgument string
	// SessionArgument names the json argument that receives the session
	// variables; empty when the function takes none.
	SessionArgument string
	Comment         string
}

// Function is a tracked SQL function (`functions` in a source's
// metadata): a query root field returning rows of the table the function
// returns SETOF.
type Function struct {
	Pos      Pos
	Function QualifiedTable
	// SessionArgument names the json argument that receives the session
	// variables; empty when the function takes none.
	SessionArgument string
	// ExposedAs is "query", "mutation", or empty: then a VOLATILE function
	// is a mutation and any other a query, as in Hasura.
	ExposedAs string
	// CustomName replaces the function's name as the root field's name.
	CustomName string
	// CustomRootFields renames the function and function_aggregate root
	// fields.
	CustomRootFields map[string]string
}
