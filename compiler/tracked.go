package compiler

import (
	"sort"

	"github.com/rowguard/rowguard/policies"
)

// TrackedFunction is a function tracked with track_function, served as
// the query root fields Name and AggregateName: it returns SETOF the rows
// of the tracked table Table.
type TrackedFunction struct {
	Pos      policies.Pos
	Function *Function
	Table    *TableInfo
	// SessionArg is the index of the json argument that receives the
	// session variables, or -1.
	SessionArg    int
	Name          string
	AggregateName string
	// ArgsType names the input type of the function's arguments:
	// <custom_name>_args, or the function's default name's; custom root
	// field names leave it alone, so both root fields share it.
	ArgsType string
	// Access lists the roles that may call it (those with a select
	// permission on Table), sorted by role name.
	Access []*FunctionAccess
}

// FunctionAccess is how one role calls a tracked function: through
// Helper, a SECURITY DEFINER function in schema rowguard that takes the
// same arguments but the session's, runs the function with the definer's
// rights (as Hasura runs it with its own connection's), and returns only
// Perm's columns of the rows that pass Perm's filter. Only that role may
// execute it.
type FunctionAccess struct {
	Perm   *Permission
	Helper string
}

// Args lists the arguments a request passes in `args`: all but the
// session argument.
func (f *TrackedFunction) Args() []*FunctionArg {
	var out []*FunctionArg
	for i, a := range f.Function.Args {
		if i != f.SessionArg {
			out = append(out, a)
		}
	}
	return out
}

// RoleAccess returns the access of the role of that name, or nil.
func (f *TrackedFunction) RoleAccess(role string) *FunctionAccess {
	for _, a := range f.Access {
		if a.Perm.Role.Name == role {
			return a
		}
	}
	return nil
}

// trackedFunctions resolves the metadata's tracked functions.
func (c *compiler) trackedFunctions(md *policies.Metadata) {
	seen := map[string]policies.Pos{}
	for _, m := range md.Functions {
		tf := c.trackedFunction(m)
		if tf == nil {
			continue
		}
		for _, n := range []string{tf.Name, tf.AggregateName} {
			if prev, ok := c.rootNames[n]; ok {
				c.errorf(m.Pos, "tracked function %s: root field %q is already the %s (at %s): give the function a custom_name", m.Function, n, prev.what, prev.pos)
				tf = nil
				break
			}
			if prev, ok := seen[n]; ok {
				c.errorf(m.Pos, "tracked function %s: root field %q is already taken (at %s): give it a custom_name", m.Function, n, prev)
				tf = nil
				break
			}
			seen[n] = m.Pos
		}
		if tf != nil {
			c.prog.Functions = append(c.prog.Functions, tf)
		}
	}
	sort.Slice(c.prog.Functions, func(i, j int) bool { return c.prog.Functions[i].Name < c.prog.Functions[j].Name })
}

func (c *compiler) trackedFunction(m *policies.Function) *TrackedFunction {
	f := c.cat.Function(m.Function)
	if f == nil {
		c.errorf(m.Pos, "tracked function %s does not exist: create it in a migration, or remove it from the metadata", m.Function)
		return nil
	}
	if f.Overloads > 1 {
		c.errorf(m.Pos, "tracked function %s is overloaded: keep one function of that name", m.Function)
		return nil
	}
	switch {
	case m.ExposedAs == "mutation", m.ExposedAs == "" && f.Volatility == 'v':
		// Hasura exposes a VOLATILE function as a mutation unless told
		// otherwise, and then only to roles given a function permission.
		c.warnf(m.Pos, "tracked function %s is exposed as a mutation, which will not be served: rowguard serves functions as queries only (STABLE or IMMUTABLE)", m.Function)
		return nil
	case f.Volatility == 'v':
		c.errorf(m.Pos, "tracked function %s is VOLATILE: only STABLE or IMMUTABLE functions can be query root fields; mark it STABLE, or set exposed_as: mutation", m.Function)
		return nil
	}
	if f.ReturnsTable.Name == "" {
		c.errorf(m.Pos, "tracked function %s returns %s: a tracked function must return SETOF a tracked table", m.Function, setof(f))
		return nil
	}
	info := c.infos[f.ReturnsTable]
	if info == nil {
		c.errorf(m.Pos, "tracked function %s returns rows of %s, which is not tracked: track the table first", m.Function, f.ReturnsTable)
		return nil
	}
	tf := &TrackedFunction{Pos: m.Pos, Function: f, Table: info, SessionArg: -1}
	if m.SessionArgument != "" {
		a, i := f.Arg(m.SessionArgument)
		if i < 0 {
			c.errorf(m.Pos, "tracked function %s has no argument %q (arguments: %s)", m.Function, m.SessionArgument, argNames(f))
			return nil
		}
		if a.Type != "json" && a.Type != "jsonb" {
			c.errorf(m.Pos, "tracked function %s: session argument %q must be json or jsonb, not %s", m.Function, a.Name, a.Type)
			return nil
		}
		tf.SessionArg = i
	}
	for i, a := range f.Args {
		if a.Name == "" && i != tf.SessionArg {
			c.errorf(m.Pos, "tracked function %s: argument %d has no name; a request passes arguments by name", m.Function, i+1)
			return nil
		}
	}
	tf.Name = DefaultTypeName(f.Name)
	if m.CustomName != "" {
		tf.Name = m.CustomName
	}
	tf.AggregateName = tf.Name + "_aggregate"
	tf.ArgsType = tf.Name + "_args"
	if n := m.CustomRootFields["function"]; n != "" {
		tf.Name = n
	}
	if n := m.CustomRootFields["function_aggregate"]; n != "" {
		tf.AggregateName = n
	}
	for _, p := range info.Permissions {
		if p.Op == policies.Select {
			tf.Access = append(tf.Access, &FunctionAccess{Perm: p, Helper: helperName("fn", p.Role.Name, f.Name.Name)})
		}
	}
	sort.Slice(tf.Access, func(i, j int) bool { return tf.Access[i].Perm.Role.Name < tf.Access[j].Perm.Role.Name })
	return tf
}

func setof(f *Function) string {
	if f.ReturnsSet {
		return "SETOF " + f.Returns
	}
	return f.Returns
}
