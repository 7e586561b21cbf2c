package compiler

import (
	"context"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// Function is a SQL function of the catalog, as computed fields and
// tracked functions use it.
type Function struct {
	Name policies.QualifiedTable
	// Args are the input arguments in order.
	Args []*FunctionArg
	// Returns is the result type, spelled as Column.Type is; ReturnsSet is
	// set for SETOF, and ReturnsTable names the table whose row type it
	// is (one row or SETOF: Hasura serves both as a list of rows).
	Returns      string
	ReturnsSet   bool
	ReturnsTable policies.QualifiedTable
	// Overloads counts the functions of this name (Hasura refuses to track
	// an overloaded function; so does rowguard).
	Overloads int
	// Volatility is PostgreSQL's: 'i' immutable, 's' stable, 'v' volatile.
	Volatility byte
	// Language is the function's language, lower case (sql, plpgsql, …);
	// Body its source as written between the quotes (pg_proc.prosrc,
	// empty for a SQL-standard body); SecurityDefiner is prosecdef.
	// Catalog.ReadsAsCaller reads them.
	Language        string
	Body            string
	SecurityDefiner bool
}

// FunctionArg is one input argument of a function.
type FunctionArg struct {
	Name string
	// Type is spelled as Column.Type is: a table's row type is "schema.name".
	Type       string
	HasDefault bool
}

// Arg returns the argument of that name and its index, or nil and -1.
func (f *Function) Arg(name string) (*FunctionArg, int) {
	for i, a := range f.Args {
		if a.Name == name {
			return a, i
		}
	}
	return nil, -1
}

// Function returns the named function, or nil.
func (c *Catalog) Function(q policies.QualifiedTable) *Function { return c.Functions[q] }

// AddFunction puts f into the catalog; a second function of the same name
// counts as an overload.
func (c *Catalog) AddFunction(f *Function) {
	if c.Functions == nil {
		c.Functions = map[policies.QualifiedTable]*Function{}
	}
	if prev := c.Functions[f.Name]; prev != nil {
		f.Overloads = prev.Overloads + 1
	} else {
		f.Overloads = 1
	}
	c.Functions[f.Name] = f
}

// functionsQuery lists plain functions of the catalog's schemas with one
// row per input argument (and one row with a NULL position for functions
// without arguments). Types come with what liveTypeName needs.
const functionsQuery = `
WITH procs AS (
  SELECT p.oid, n.nspname, p.proname, p.provolatile, p.proretset, p.prorettype, p.pronargs, p.pronargdefaults,
         p.proargtypes::oid[] AS argtypes, coalesce(p.proargnames, '{}') AS argnames, p.proargmodes,
         l.lanname, p.prosrc, p.prosecdef
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
   WHERE p.prokind = 'f'
     AND CASE WHEN cardinality($1::text[]) = 0
              THEN n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard')
                   AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
              ELSE n.nspname = ANY ($1::text[]) END
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
), types AS (
  SELECT t.oid, pg_catalog.format_type(t.oid, NULL) AS formatted, tn.nspname, quote_ident(tn.nspname) AS quoted,
         EXISTS (SELECT FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.deptype = 'e'
                    AND d.objid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END) AS ext,
         coalesce(rn.nspname::text, '') AS relschema, coalesce(r.relname::text, '') AS relname
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
    LEFT JOIN pg_catalog.pg_class r ON r.oid = t.typrelid AND r.relkind IN ('r', 'p', 'v', 'm', 'f')
    LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
)
SELECT p.nspname, p.proname, p.provolatile::text, p.proretset, rt.formatted, rt.nspname, rt.quoted, rt.ext, rt.relschema, rt.relname,
       a.i, coalesce(CASE WHEN p.proargmodes IS NULL THEN p.argnames[a.i] END, ''),
       coalesce(at.formatted, ''), coalesce(at.nspname, ''), coalesce(at.quoted, ''), coalesce(at.ext, false),
       coalesce(a.i > p.pronargs - p.pronargdefaults, false),
       p.lanname::text, coalesce(p.prosrc, ''), p.prosecdef
  FROM procs p
  JOIN types rt ON rt.oid = p.prorettype
  LEFT JOIN LATERAL unnest(p.argtypes) WITH ORDINALITY a(typ, i) ON true
  LEFT JOIN types at ON at.oid = a.typ
 ORDER BY p.nspname, p.proname, p.oid, a.i`

// loadFunctions adds the functions of the schemas to cat. Functions of
// extensions are left out, as are argument names of functions with OUT
// arguments (which computed fields and tracked functions do not take).
func loadFunctions(ctx context.Context, q Querier, schemas []string, cat *Catalog) error {
	var cur *Function
	return query(ctx, q, functionsQuery, schemas, "functions", func(rows pgx.Rows) error {
		var name, rel policies.QualifiedTable
		var vol string
		var set, retExt, argExt, hasDefault bool
		var retFormatted, retSchema, retQuoted string
		var pos *int64
		var argName, argFormatted, argSchema, argQuoted string
		var lang, body string
		var secdef bool
		if err := rows.Scan(&name.Schema, &name.Name, &vol, &set, &retFormatted, &retSchema, &retQuoted, &retExt, &rel.Schema, &rel.Name,
			&pos, &argName, &argFormatted, &argSchema, &argQuoted, &argExt, &hasDefault, &lang, &body, &secdef); err != nil {
			return err
		}
		if pos == nil || *pos == 1 {
			cur = &Function{Name: name, Returns: liveTypeName(retFormatted, retSchema, retQuoted, retExt), ReturnsSet: set, Volatility: vol[0],
				Language: lang, Body: body, SecurityDefiner: secdef}
			if rel.Name != "" {
				cur.ReturnsTable = rel
			}
			cat.AddFunction(cur)
		}
		if pos != nil {
			cur.Args = append(cur.Args, &FunctionArg{Name: argName, Type: liveTypeName(argFormatted, argSchema, argQuoted, argExt), HasDefault: hasDefault})
		}
		return nil
	})
}

// Signature renders the function's name and argument types, as GRANT
// EXECUTE names it.
func (f *Function) Signature() string {
	types := make([]string, len(f.Args))
	for i, a := range f.Args {
		types[i] = a.Type
	}
	return QuoteTable(f.Name) + "(" + strings.Join(types, ", ") + ")"
}

// SortedFunctions returns the functions ordered by schema and name.
func (c *Catalog) SortedFunctions() []*Function {
	out := make([]*Function, 0, len(c.Functions))
	for _, f := range c.Functions {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.String() < out[j].Name.String() })
	return out
}

// createFunction records CREATE FUNCTION as the live catalog reads it.
// Procedures, and functions with OUT or TABLE arguments (whose argument
// names the live catalog leaves out), are recorded without names.
func (b *ddlBuilder) createFunction(s *pg_query.CreateFunctionStmt) error {
	names := strs(s.Funcname)
	if q := b.typeQName(names); b.bodyChangesSchema(s) {
		b.schemaFuncs[q] = true
	} else {
		delete(b.schemaFuncs, q)
	}
	if s.IsProcedure {
		return nil
	}
	f := &Function{Name: b.typeQName(names), Volatility: 'v'}
	for _, o := range s.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "volatility":
			if v := d.Arg.GetString_(); v != nil && v.Sval != "" {
				f.Volatility = v.Sval[0]
			}
		case "language":
			if v := d.Arg.GetString_(); v != nil {
				f.Language = strings.ToLower(v.Sval)
			}
		case "security":
			if v := d.Arg.GetBoolean(); v != nil {
				f.SecurityDefiner = v.Boolval
			}
		case "as":
			// AS 'body' (C functions: AS 'file', 'symbol'; prosrc is the
			// symbol, the last string).
			if l := d.Arg.GetList(); l != nil && len(l.Items) > 0 {
				if v := l.Items[len(l.Items)-1].GetString_(); v != nil {
					f.Body = v.Sval
				}
			}
		}
	}
	if len(names) == 1 && len(b.path) > 0 {
		f.Name.Schema = b.creationSchema()
	}
	named := true
	var out []*Column // OUT, INOUT and TABLE arguments: the result's columns
	for _, n := range s.Parameters {
		p := n.GetFunctionParameter()
		if p == nil {
			continue
		}
		typ, _, err := b.typeName(p.ArgType)
		if err != nil {
			return err
		}
		switch p.Mode {
		case pg_query.FunctionParameterMode_FUNC_PARAM_OUT, pg_query.FunctionParameterMode_FUNC_PARAM_TABLE:
			named = false
			out = append(out, &Column{Name: p.Name, Type: typ})
			continue
		case pg_query.FunctionParameterMode_FUNC_PARAM_INOUT:
			out = append(out, &Column{Name: p.Name, Type: typ})
		}
		f.Args = append(f.Args, &FunctionArg{Name: p.Name, Type: typ, HasDefault: p.Defexpr != nil})
	}
	if !named {
		for _, a := range f.Args {
			a.Name = ""
		}
	}
	if rt := s.ReturnType; rt != nil {
		plain := &pg_query.TypeName{Names: rt.Names, Typmods: rt.Typmods, ArrayBounds: rt.ArrayBounds, Location: rt.Location}
		typ, _, err := b.typeName(plain)
		if err != nil {
			return err
		}
		f.Returns, f.ReturnsSet = typ, rt.Setof
		if q, ok := b.lookupType(strs(rt.Names)); ok && b.cat.Tables[q] != nil {
			f.ReturnsTable = q
		}
	} else if len(out) == 1 {
		f.Returns = out[0].Type // OUT arguments without RETURNS: one row
	} else {
		f.Returns = "record"
	}
	if len(out) > 0 {
		b.funcOut[f] = out // a single OUT argument names the column, before any alias
	}
	b.addFunction(f)
	return nil
}
