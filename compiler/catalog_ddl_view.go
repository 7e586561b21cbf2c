package compiler

// This file holds how ParseDDL derives a view's columns from its query:
// names as PostgreSQL's FigureColname picks them, types where the parse
// tree tells them (columns of known relations, casts, literals, common
// functions and operators), UnknownType where only PostgreSQL's analysis
// would.

import (
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// unknownLiteral is the type of a quoted literal or NULL before PostgreSQL
// resolves it: to the other side's type in a UNION, CASE or COALESCE, to
// text as a view's column.
const unknownLiteral = "?unknown"

// viewScope is what a query's expressions can name: its FROM items, the
// columns a * expands to, and the CTEs in scope.
type viewScope struct {
	from  []fromItem
	stars [][]*Column // per FROM list element, its columns (nil: unknown)
	ctes  map[string][]*Column
}

// fromItem is a FROM item by the name the query refers to it with.
type fromItem struct {
	alias string
	cols  []*Column // nil when unknown (a function's result)
	// merged marks the columns a JOIN … USING merges, which an unqualified
	// name means before the joined tables' own.
	merged bool
}

// viewColumns returns the columns of a view's query (empty, not nil, for
// none), or nil when their names cannot be told (a * over a relation or
// function whose columns are unknown).
func (b *ddlBuilder) viewColumns(query *pg_query.Node) []*Column {
	cols := b.queryColumns(query.GetSelectStmt(), map[string][]*Column{})
	for _, c := range cols {
		if c.Type == unknownLiteral {
			c.Type = "text"
		}
	}
	return cols
}

// queryColumns returns the output columns of a SELECT, VALUES or set
// operation.
func (b *ddlBuilder) queryColumns(sel *pg_query.SelectStmt, outer map[string][]*Column) []*Column {
	if sel == nil {
		return nil
	}
	ctes := outer
	if w := sel.WithClause; w != nil {
		ctes = map[string][]*Column{}
		for k, v := range outer {
			ctes[k] = v
		}
		for _, n := range w.Ctes {
			cte := n.GetCommonTableExpr()
			q := cte.Ctequery.GetSelectStmt()
			if w.Recursive && q != nil && q.Op != pg_query.SetOperation_SETOP_NONE {
				q = q.Larg // the non-recursive term gives the columns
			}
			cols := b.queryColumns(q, ctes)
			if cols == nil {
				ctes[cte.Ctename] = nil
				continue
			}
			renameColumns(cols, strs(cte.Aliascolnames))
			ctes[cte.Ctename] = cols
		}
	}
	if sel.Op != pg_query.SetOperation_SETOP_NONE {
		l, r := b.queryColumns(sel.Larg, ctes), b.queryColumns(sel.Rarg, ctes)
		if l == nil || r == nil || len(l) != len(r) {
			return nil
		}
		for i := range l {
			l[i].Type = commonType(l[i].Type, r[i].Type)
		}
		return l
	}
	if len(sel.ValuesLists) > 0 {
		var out []*Column
		for i, n := range sel.ValuesLists[0].GetList().GetItems() {
			out = append(out, &Column{Name: "column" + strconv.Itoa(i+1), Type: b.exprType(n, &viewScope{ctes: ctes})})
		}
		return out
	}
	scope := &viewScope{ctes: ctes}
	for _, n := range sel.FromClause {
		items, cols, ok := b.fromNode(n, ctes)
		if !ok {
			return nil
		}
		scope.from = append(scope.from, items...)
		scope.stars = append(scope.stars, cols)
	}
	var out []*Column
	for _, n := range sel.TargetList {
		rt := n.GetResTarget()
		if cr := rt.GetVal().GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			var cols [][]*Column
			if qual := last(strs(cr.Fields[:len(cr.Fields)-1])); qual == "" {
				cols = scope.stars
			} else {
				for _, it := range scope.from {
					if it.alias == qual && !it.merged {
						cols = append(cols, it.cols)
					}
				}
			}
			if len(cols) == 0 {
				return nil
			}
			for _, cs := range cols {
				if cs == nil {
					return nil
				}
				for _, c := range cs {
					out = append(out, &Column{Name: c.Name, Type: c.Type})
				}
			}
			continue
		}
		name := rt.Name
		if name == "" {
			name = colName(rt.Val)
		}
		out = append(out, &Column{Name: name, Type: b.exprType(rt.Val, scope)})
	}
	if out == nil {
		out = []*Column{} // known: no columns
	}
	return out
}

// fromNode returns the items a FROM list element makes nameable and the
// columns a * over it expands to (nil when unknown); ok is false for a
// kind of FROM item that is not modelled.
func (b *ddlBuilder) fromNode(n *pg_query.Node, ctes map[string][]*Column) (items []fromItem, cols []*Column, ok bool) {
	switch {
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		li, lc, ok1 := b.fromNode(j.Larg, ctes)
		ri, rc, ok2 := b.fromNode(j.Rarg, ctes)
		if !ok1 || !ok2 {
			return nil, nil, false
		}
		using := strs(j.UsingClause)
		if j.IsNatural && lc != nil && rc != nil {
			for _, c := range lc {
				if columnOf(rc, c.Name) != nil {
					using = append(using, c.Name)
				}
			}
		}
		var merged []*Column
		if lc != nil && rc != nil {
			// USING columns first, once, then each side's others.
			for _, u := range using {
				l, r := columnOf(lc, u), columnOf(rc, u)
				if l == nil || r == nil {
					return nil, nil, false
				}
				merged = append(merged, &Column{Name: u, Type: commonType(l.Type, r.Type)})
			}
			cols = append(cols, merged...)
			for _, side := range [][]*Column{lc, rc} {
				for _, c := range side {
					if !slices.Contains(using, c.Name) {
						cols = append(cols, c)
					}
				}
			}
		} else if j.IsNatural || len(using) > 0 {
			return nil, nil, false
		}
		if j.Alias != nil {
			// The alias hides the joined tables' names.
			cols = renamedCopy(cols, strs(j.Alias.Colnames))
			return []fromItem{{alias: j.Alias.Aliasname, cols: cols}}, cols, true
		}
		items = append(append(items, li...), ri...)
		if merged != nil {
			items = append(items, fromItem{cols: merged, merged: true})
		}
		return items, cols, true
	case n.GetRangeVar() != nil:
		rv := n.GetRangeVar()
		if c, ok := ctes[rv.Relname]; ok && rv.Schemaname == "" {
			cols = c
		} else if t := b.cat.Table(b.lookupRel(rv)); t != nil {
			cols = t.Columns
		}
		alias := rv.Relname
		if rv.Alias != nil {
			alias = rv.Alias.Aliasname
			cols = renamedCopy(cols, strs(rv.Alias.Colnames))
		}
		return []fromItem{{alias: alias, cols: cols}}, cols, true
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		cols = b.queryColumns(rs.Subquery.GetSelectStmt(), ctes)
		alias := ""
		if rs.Alias != nil {
			alias = rs.Alias.Aliasname
			cols = renamedCopy(cols, strs(rs.Alias.Colnames))
		}
		return []fromItem{{alias: alias, cols: cols}}, cols, true
	case n.GetRangeFunction() != nil:
		// A function of the files gives its result columns; another's are
		// known by name when the alias lists them, their types not.
		rf := n.GetRangeFunction()
		alias := ""
		if rf.Alias != nil {
			alias = rf.Alias.Aliasname
		}
		if len(rf.Functions) == 1 && !rf.Ordinality {
			if fc := rf.Functions[0].GetList().GetItems()[0].GetFuncCall(); fc != nil {
				cols = b.functionColumns(strs(fc.Funcname), alias)
				if alias == "" {
					alias = last(strs(fc.Funcname))
				}
			}
		}
		if rf.Alias != nil {
			names := strs(rf.Alias.Colnames)
			if cols == nil {
				for _, c := range names {
					cols = append(cols, &Column{Name: c, Type: UnknownType})
				}
			}
			cols = renamedCopy(cols, names)
		}
		return []fromItem{{alias: alias, cols: cols}}, cols, true
	}
	return nil, nil, false
}

// functionColumns returns the result columns of a function of the files
// called in FROM: its OUT or TABLE arguments, a table's columns for its row
// type, else one column named by the alias or the function; nil when the
// function is not known or is overloaded.
func (b *ddlBuilder) functionColumns(names []string, alias string) []*Column {
	var f *Function
	if len(names) > 1 {
		f = b.cat.Function(policies.QualifiedTable{Schema: names[len(names)-2], Name: last(names)})
	} else {
		for _, s := range b.path {
			if f = b.cat.Function(policies.QualifiedTable{Schema: s, Name: names[0]}); f != nil {
				break
			}
		}
	}
	if f == nil || f.Overloads != 1 {
		return nil
	}
	if out, ok := b.funcOut[f]; ok {
		return renamedCopy(out, nil)
	}
	if t := b.cat.Table(f.ReturnsTable); t != nil {
		return renamedCopy(t.Columns, nil)
	}
	if f.Returns == "record" || f.Returns == "" {
		return nil
	}
	if t, ok := b.lookupType(splitQualified(f.Returns)); ok && b.cat.Table(t) != nil {
		return renamedCopy(b.cat.Table(t).Columns, nil) // a table's row type, not SETOF
	}
	name := last(names)
	if alias != "" {
		name = alias
	}
	return []*Column{{Name: name, Type: f.Returns}}
}

// columnOf returns the named column of cols, or nil.
func columnOf(cols []*Column, name string) *Column {
	for _, c := range cols {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// renamedCopy copies cols, renaming the first ones as an alias's column
// list does.
func renamedCopy(cols []*Column, names []string) []*Column {
	if cols == nil {
		return nil
	}
	out := make([]*Column, len(cols))
	for i, c := range cols {
		out[i] = &Column{Name: c.Name, Type: c.Type}
	}
	renameColumns(out, names)
	return out
}

// renameColumns renames the first columns as an alias list does.
func renameColumns(cols []*Column, names []string) {
	for i, a := range names {
		if i < len(cols) {
			cols[i].Name = a
		}
	}
}

// column resolves a column reference in scope; nil when unknown.
func (s *viewScope) column(fields []string) *Column {
	name, qual := last(fields), ""
	if len(fields) > 1 {
		qual = fields[len(fields)-2]
	}
	if qual == "" {
		for _, it := range s.from {
			if c := columnOf(it.cols, name); it.merged && c != nil {
				return c // a USING column, which names both sides' as one
			}
		}
	}
	var found *Column
	for _, it := range s.from {
		if it.merged || qual != "" && it.alias != qual {
			continue
		}
		for _, c := range it.cols {
			if c.Name == name {
				if found != nil {
					return nil // ambiguous
				}
				found = c
			}
		}
	}
	return found
}

// colName is the name PostgreSQL's FigureColname gives an output column
// written without AS.
func colName(n *pg_query.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		if s := last(strs(n.GetColumnRef().Fields)); s != "" {
			return s
		}
	case n.GetAIndirection() != nil:
		ind := n.GetAIndirection()
		if s := last(strs(ind.Indirection)); s != "" {
			return s
		}
		return colName(ind.Arg)
	case n.GetFuncCall() != nil:
		return last(strs(n.GetFuncCall().Funcname))
	case n.GetTypeCast() != nil:
		if s := colName(n.GetTypeCast().Arg); s != "?column?" {
			return s
		}
		return last(strs(n.GetTypeCast().TypeName.Names))
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetAArrayExpr() != nil:
		return "array"
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	case n.GetMinMaxExpr() != nil:
		if n.GetMinMaxExpr().Op == pg_query.MinMaxOp_IS_GREATEST {
			return "greatest"
		}
		return "least"
	case n.GetRowExpr() != nil:
		return "row"
	case n.GetNullIfExpr() != nil:
		return "nullif"
	case n.GetGroupingFunc() != nil:
		return "grouping"
	case n.GetSqlvalueFunction() != nil:
		return sqlValueFunctions[n.GetSqlvalueFunction().Op].name
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		switch sl.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists"
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array"
		case pg_query.SubLinkType_EXPR_SUBLINK:
			if tl := sl.Subselect.GetSelectStmt().GetTargetList(); len(tl) > 0 {
				if rt := tl[0].GetResTarget(); rt.Name != "" {
					return rt.Name
				} else {
					return colName(rt.Val)
				}
			}
		}
	}
	return "?column?"
}

// sqlValueFunctions are CURRENT_TIMESTAMP and the like: their column name
// and type.
var sqlValueFunctions = map[pg_query.SQLValueFunctionOp]struct{ name, typ string }{
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        {"current_date", "date"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME:        {"current_time", "time with time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:      {"current_time", "time with time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   {"current_timestamp", "timestamp with time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: {"current_timestamp", "timestamp with time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME:           {"localtime", "time without time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:         {"localtime", "time without time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      {"localtimestamp", "timestamp without time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    {"localtimestamp", "timestamp without time zone"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:        {"current_role", "name"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:        {"current_user", "name"},
	pg_query.SQLValueFunctionOp_SVFOP_USER:                {"user", "name"},
	pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:        {"session_user", "name"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:     {"current_catalog", "name"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:      {"current_schema", "name"},
}

// commonType is the type of a UNION, CASE or COALESCE of values of types a
// and b: the same type, the typed one against an untyped literal, else
// unknown (PostgreSQL's promotions are not modelled).
func commonType(a, b string) string {
	switch {
	case a == b:
		return a
	case a == unknownLiteral:
		return b
	case b == unknownLiteral:
		return a
	}
	if strip(a) == strip(b) && strip(a) != UnknownType {
		return strip(a) // varchar(10) and varchar(20): the modifier goes
	}
	// Numbers promote along the implicit casts: integer and bigint give
	// bigint, numeric and double precision give double precision.
	if ra, rb := numericRank[strip(a)], numericRank[strip(b)]; ra > 0 && rb > 0 {
		if ra > rb {
			return strip(a)
		}
		return strip(b)
	}
	return UnknownType
}

// numericRank orders the numeric types by PostgreSQL's implicit casts.
var numericRank = map[string]int{"smallint": 1, "integer": 2, "bigint": 3, "numeric": 4, "real": 5, "double precision": 6}

// strip drops a type's modifier: character varying(10) → character varying.
func strip(t string) string {
	if i := strings.IndexByte(t, '('); i > 0 && strings.HasSuffix(t, ")") && !strings.HasPrefix(t, `"`) {
		return t[:i]
	}
	return t
}
