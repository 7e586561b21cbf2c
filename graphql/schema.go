package graphql

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// AdminRole is the role that sees every tracked table and column.
const AdminRole = "admin"

// Root operation type names, as Hasura spells them.
const (
	queryRootName    = "query_root"
	mutationRootName = "mutation_root"
)

// noQueriesField is the one field of an otherwise empty query_root (a
// GraphQL object needs at least one field), as Hasura publishes it.
const noQueriesField = "no_queries_available"

const noQueriesMessage = "There are no queries available to the current role. Either there are no sources or remote schemas configured, or the current role doesn't have the required permissions."

// orderedAggregates take any ordered column.
var (
	orderedAggregates = []string{"max", "min"}
	// aggregateOrder is the field order of <t>_aggregate_fields and
	// <t>_aggregate_order_by (Hasura's: alphabetical, count among them).
	aggregateOrder = []string{"avg", "count", "max", "min", "stddev", "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp", "variance"}
)

// tableView is what one role may do with one table: the columns it reads,
// the relationships it may follow, and the limits the planner applies.
type tableView struct {
	info *compiler.TableInfo
	perm *compiler.Permission // the role's select permission; nil for admin
	name string               // GraphQL type name

	columns      []*compiler.Column
	rels         []*relView
	computed     []*computedView
	fields       map[string]*rowField // fields of the row type by name
	aggregations bool
	limit        *int
	pk           []*compiler.Column // nil unless every key column is readable
	// row is set when the row type <t> is published: the role reads a
	// column or follows a relationship of the table. A select permission
	// without either still publishes <t>_aggregate { aggregate { count } }
	// when it allows aggregations, as Hasura does.
	row bool
	// orderable is set when <t>_order_by has a field, so lists of the
	// table take an order_by argument.
	orderable bool

	rootSelect, rootByPK, rootAggregate bool
	// vars lists the session variables the role's filter on this table
	// reads, sorted.
	vars []string
}

// field returns the GraphQL name of a column of v's table: its custom
// name, or its PostgreSQL name.
func (v *tableView) field(c *compiler.Column) string { return v.info.GraphQL.Column(c.Name) }

// column returns the readable column published as field name, or nil.
func (v *tableView) column(name string) *compiler.Column {
	if f := v.fields[name]; f != nil && f.kind == fieldColumn {
		return f.column
	}
	return nil
}

// relView is a relationship the role may follow.
type relView struct {
	rel    *compiler.Relationship
	remote *tableView
}

// fieldKind tells what a field of a table's row type reads.
type fieldKind int

const (
	fieldColumn fieldKind = iota
	fieldObjectRel
	fieldArrayRel
	fieldArrayAggregate
	fieldComputed    // a scalar computed field
	fieldComputedSet // a computed field returning rows
)

type rowField struct {
	kind     fieldKind
	column   *compiler.Column
	rel      *relView
	computed *computedView
}

// rootKind tells what a query_root field selects.
type rootKind int

const (
	rootList rootKind = iota
	rootByPK
	rootAggregate
	rootFunction          // a tracked function's rows
	rootFunctionAggregate // <fn>_aggregate
)

type rootField struct {
	kind rootKind
	view *tableView
	fn   *functionRoot // rootFunction, rootFunctionAggregate
}

// readRole is the role whose per-role views rs's statements read for
// tracked views: "" for admin, which reads the views themselves.
func (rs *roleSchema) readRole() string {
	if rs.admin {
		return ""
	}
	return rs.role
}

// roleSchema is one role's published schema and what each of its names
// means to the planner.
type roleSchema struct {
	// mergeSets is Config.MergeSets, for the plans of this schema.
	mergeSets bool
	role      string
	admin     bool
	pgRole    string // empty for roles without permissions
	sdl       string
	schema    *ast.Schema

	views     []*tableView
	functions []*functionRoot       // tracked functions the role may call
	roots     map[string]*rootField // query_root field name → meaning
	noRoot    bool                  // query_root only has no_queries_available
	// mutations maps mutation_root field names to their meaning; nil when
	// the role has no mutation_root.
	mutations map[string]*mutationField
	backend   bool // backend_only permissions are published
}

// buildSchema builds the schema of role (AdminRole for the admin) from prog;
// cons names the constraints an upsert may target and enums holds the
// values of the enum tables. backend publishes the
// role's backend_only mutations, which Hasura shows only to requests that
// ask for them with the admin secret.
func buildSchema(prog *compiler.Program, role string, cons constraintSet, enums enumValues, backend bool) (*roleSchema, error) {
	rs := &roleSchema{
		role:    role,
		backend: backend,
		admin:   role == AdminRole,
		roots:   map[string]*rootField{},
	}
	if r := prog.Role(role); r != nil && !rs.admin {
		rs.pgRole = r.PGName
	}
	if rs.admin {
		// A NOLOGIN BYPASSRLS role the install creates, so the server's
		// login role needs no privilege of its own.
		rs.pgRole = prog.AdminPGRole()
	}
	rs.views = tableViews(prog, role)
	rs.functions = functionRoots(prog, role, rs.views)
	b := &schemaBuilder{rs: rs, prog: prog, cons: cons, enumVals: enums}
	sdl, err := b.build()
	if err != nil {
		return nil, fmt.Errorf("schema of role %q: %w", role, err)
	}
	rs.sdl = sdl
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "role " + role, Input: rs.sdl})
	if err != nil {
		return nil, fmt.Errorf("schema of role %q: %w", role, err)
	}
	rs.schema = s
	addSubscriptionRoot(rs)
	return rs, nil
}

// tableViews lists the tables role may select, with their relationships
// resolved against each other.
func tableViews(prog *compiler.Program, role string) []*tableView {
	admin := role == AdminRole
	byTable := map[*compiler.TableInfo]*tableView{}
	var views []*tableView
	for _, info := range prog.Tables {
		name := info.GraphQL.Type
		if !validName(name) {
			continue
		}
		v := &tableView{info: info, name: name, fields: map[string]*rowField{}}
		if admin {
			v.columns = info.Table.Columns
			v.aggregations = true
			v.rootSelect, v.rootByPK, v.rootAggregate = true, true, true
		} else {
			p := info.Permission(role, policies.Select)
			if p == nil {
				continue
			}
			v.perm = p
			v.columns = p.Columns
			v.aggregations = p.AllowAggregations
			v.limit = p.Limit
			v.rootSelect, v.rootByPK, v.rootAggregate = true, true, true
			if p.QueryRootFields != nil {
				v.rootSelect = slices.Contains(p.QueryRootFields, "select")
				v.rootByPK = slices.Contains(p.QueryRootFields, "select_by_pk")
				v.rootAggregate = slices.Contains(p.QueryRootFields, "select_aggregate")
			}
			v.vars = sessionVars(p.Filter)
		}
		var cols []*compiler.Column
		for _, c := range v.columns {
			if f := v.field(c); validName(f) {
				cols = append(cols, c)
				v.fields[f] = &rowField{kind: fieldColumn, column: c}
			}
		}
		v.columns = cols
		v.row = len(cols) > 0
		if !v.aggregations {
			v.rootAggregate = false
		}
		for _, k := range info.Table.PrimaryKey {
			c := v.column(info.GraphQL.Column(k))
			if c == nil {
				v.pk = nil
				break
			}
			v.pk = append(v.pk, c)
		}
		if v.pk == nil {
			v.rootByPK = false
		}
		byTable[info] = v
		views = append(views, v)
	}
	// A table whose permission lists no column still has a row type when
	// it leads somewhere through a relationship; that may depend on other
	// such tables, hence the loop until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, v := range views {
			if v.row {
				continue
			}
			for _, rel := range v.info.Relationships {
				if remote := byTable[prog.Table(rel.Remote.Name)]; remote != nil && validName(rel.Name) &&
					(remote.row || rel.Kind == policies.ArrayRel && remote.aggregations) {
					v.row, changed = true, true
					break
				}
			}
		}
	}
	// Nothing of a table without a row type or aggregations is published.
	published := views[:0]
	for _, v := range views {
		if v.row || v.aggregations {
			published = append(published, v)
		} else {
			delete(byTable, v.info)
		}
	}
	views = published
	// Hasura publishes a relationship whenever the role may select the
	// remote table, whatever columns the permissions list; the install
	// grants the join columns (compiler.Permission.HiddenColumns) so that
	// PostgreSQL lets the query follow it.
	for _, v := range views {
		if !v.row {
			continue
		}
		for _, rel := range v.info.Relationships {
			remote := byTable[prog.Table(rel.Remote.Name)]
			if remote == nil || !validName(rel.Name) || v.fields[rel.Name] != nil {
				continue
			}
			rv := &relView{rel: rel, remote: remote}
			aggregate := rel.Kind == policies.ArrayRel && remote.aggregations && v.fields[rel.Name+"_aggregate"] == nil
			if !remote.row && !aggregate {
				continue
			}
			v.rels = append(v.rels, rv)
			switch {
			case rel.Kind == policies.ObjectRel:
				v.fields[rel.Name] = &rowField{kind: fieldObjectRel, rel: rv}
			case remote.row:
				v.fields[rel.Name] = &rowField{kind: fieldArrayRel, rel: rv}
			}
			if aggregate {
				v.fields[rel.Name+"_aggregate"] = &rowField{kind: fieldArrayAggregate, rel: rv}
			}
		}
	}
	addComputed(views, byTable, prog)
	for _, v := range views {
		if !v.row {
			v.rootSelect, v.rootByPK = false, false
		}
	}
	for changed := true; changed; {
		changed = false
		for _, v := range views {
			if !v.orderable && orderByFields(v) != nil {
				v.orderable, changed = true, true
			}
		}
	}
	return views
}

// sessionVars lists the session variables e reads, sorted and unique.
func sessionVars(e compiler.Expr) []string {
	seen := map[string]bool{}
	walkOperands(e, func(o compiler.Operand) {
		if sv, ok := o.(*compiler.SessionValue); ok {
			seen[sv.Name] = true
		}
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// walkOperands calls fn for every operand of every comparison in e,
// computed fields' included, at every level.
func walkOperands(e compiler.Expr, fn func(compiler.Operand)) {
	var operand func(o compiler.Operand)
	operand = func(o compiler.Operand) {
		fn(o)
		switch o := o.(type) {
		case *compiler.ListValue:
			for _, it := range o.Items {
				operand(it)
			}
		case *compiler.DWithinValue:
			for _, it := range []compiler.Operand{o.From, o.Distance, o.UseSpheroid} {
				if it != nil {
					operand(it)
				}
			}
		}
	}
	compiler.Walk(e, func(e compiler.Expr) {
		switch e := e.(type) {
		case *compiler.Compare:
			operand(e.Right)
		case *compiler.ComputedCompare:
			operand(e.Right)
		}
	})
}

// eachLeaf calls fn for every node of e below its _and, _or and _not:
// comparisons, relationship and table EXISTS, constants.
func eachLeaf(e compiler.Expr, fn func(compiler.Expr)) {
	switch e := e.(type) {
	case nil:
	case *compiler.And:
		for _, it := range e.Items {
			eachLeaf(it, fn)
		}
	case *compiler.Or:
		for _, it := range e.Items {
			eachLeaf(it, fn)
		}
	case *compiler.Not:
		eachLeaf(e.Item, fn)
	default:
		fn(e)
	}
}

// schemaBuilder writes a role's schema as SDL.
type schemaBuilder struct {
	rs      *roleSchema
	prog    *compiler.Program
	cons    constraintSet
	b       strings.Builder
	scalars map[string]bool // scalars whose comparison_exp is needed
	// enums are the enum tables whose enum the schema uses, and
	// enumVals their values.
	enums    map[*compiler.TableInfo]bool
	enumVals enumValues
	// argTypes names the <fn>_args input types written to args.
	argTypes map[string]bool
	args     strings.Builder
}

func (b *schemaBuilder) printf(format string, args ...any) {
	fmt.Fprintf(&b.b, format, args...)
}

func (b *schemaBuilder) build() (string, error) {
	b.scalars = map[string]bool{}
	b.enums = map[*compiler.TableInfo]bool{}
	b.argTypes = map[string]bool{}
	var body strings.Builder
	for _, v := range b.rs.views {
		body.WriteString(b.table(v))
	}
	query := b.queryRoot()
	mutation := b.mutationRoot()

	b.printf("schema {\n  query: %s\n", queryRootName)
	if mutation != "" {
		b.printf("  mutation: %s\n", mutationRootName)
	}
	b.printf("}\n\n")
	var scalars []string
	for s := range b.scalars {
		scalars = append(scalars, s)
	}
	sort.Strings(scalars)
	for _, s := range scalars {
		if !isBuiltinScalar(s) {
			b.printf("scalar %s\n\n", s)
		}
	}
	if len(b.rs.views) > 0 {
		b.printf("\"\"\"column ordering options\"\"\"\nenum order_by {\n")
		for _, d := range []struct{ name, desc string }{
			{"asc", "in ascending order, nulls last"},
			{"asc_nulls_first", "in ascending order, nulls first"},
			{"asc_nulls_last", "in ascending order, nulls last"},
			{"desc", "in descending order, nulls first"},
			{"desc_nulls_first", "in descending order, nulls first"},
			{"desc_nulls_last", "in descending order, nulls last"},
		} {
			b.printf("  %s\n  %s\n", describe(d.desc), d.name)
		}
		b.printf("}\n\n")
	}
	for _, s := range scalars {
		b.comparisonExp(s)
	}
	if err := b.enumTypes(); err != nil {
		return "", err
	}
	b.b.WriteString(body.String())
	b.b.WriteString(b.args.String())
	b.b.WriteString(query)
	b.b.WriteString(mutation)
	return b.b.String(), nil
}

// describe renders a description as an SDL string.
func describe(s string) string { return strconv.Quote(s) }

// listArgs are the arguments of every list of rows of v.
// distinct_on needs a readable column and order_by a field to sort by.
func listArgs(v *tableView) string {
	var b strings.Builder
	b.WriteString("(\n")
	if len(v.columns) > 0 {
		fmt.Fprintf(&b, "    %s\n    distinct_on: [%s_select_column!]\n", describe("distinct select on columns"), v.name)
	}
	fmt.Fprintf(&b, "    %s\n    limit: Int\n    %s\n    offset: Int\n", describe("limit the number of rows returned"), describe("skip the first n rows. Use only with order_by"))
	if v.orderable {
		fmt.Fprintf(&b, "    %s\n    order_by: [%s_order_by!]\n", describe("sort the rows by one or more columns"), v.name)
	}
	fmt.Fprintf(&b, "    %s\n    where: %s_bool_exp\n  )", describe("filter the rows returned"), v.name)
	return b.String()
}

// orderByFields lists the fields of <t>_order_by as SDL lines: the
// readable columns, object relationships to tables with an order_by of
// their own, and aggregates of array relationships.
func orderByFields(v *tableView) []string {
	var out []string
	for _, c := range v.columns {
		out = append(out, fmt.Sprintf("%s: order_by", v.field(c)))
	}
	for _, cv := range v.computed {
		if cv.field().Scalar() && len(cv.field().ExtraArgs()) == 0 {
			out = append(out, fmt.Sprintf("%s: order_by", cv.field().Name))
		}
	}
	for _, r := range v.rels {
		switch {
		case r.rel.Kind == policies.ObjectRel && r.remote.orderable:
			out = append(out, fmt.Sprintf("%s: %s_order_by", r.rel.Name, r.remote.name))
		case r.rel.Kind == policies.ArrayRel && r.remote.aggregations:
			out = append(out, fmt.Sprintf("%s_aggregate: %s_aggregate_order_by", r.rel.Name, r.remote.name))
		}
	}
	return out
}

// table writes every type of one table.
func (b *schemaBuilder) table(v *tableView) string {
	var w strings.Builder
	pr := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	name := v.name
	q := describeName(v.info.Name())

	if v.row {
		desc := fmt.Sprintf("columns and relationships of %q", q)
		if v.info.GraphQL.Comment != "" {
			desc = v.info.GraphQL.Comment
		}
		pr("%s\ntype %s {\n", describe(desc), name)
		for _, c := range v.columns {
			if d := v.info.GraphQL.ColumnComment(c.Name); d != "" {
				pr("  %s\n", describe(d))
			}
			typ := b.columnType(v.info, c)
			if c.NotNull {
				typ += "!"
			}
			pr("  %s: %s\n", v.field(c), typ)
		}
		for _, r := range v.rels {
			if r.rel.Kind == policies.ObjectRel {
				pr("  %s\n  %s: %s\n", describe("An object relationship"), r.rel.Name, r.remote.name)
				continue
			}
			if v.fields[r.rel.Name] != nil {
				pr("  %s\n  %s%s: [%s!]!\n", describe("An array relationship"), r.rel.Name, listArgs(r.remote), r.remote.name)
			}
			if v.fields[r.rel.Name+"_aggregate"] != nil {
				pr("  %s\n  %s_aggregate%s: %s_aggregate!\n", describe("An aggregate relationship"), r.rel.Name, listArgs(r.remote), r.remote.name)
			}
		}
		b.computedFields(v, pr)
		pr("}\n\n")
	}

	// Boolean expression.
	pr("%s\ninput %s_bool_exp {\n  _and: [%s_bool_exp!]\n  _not: %s_bool_exp\n  _or: [%s_bool_exp!]\n",
		describe(fmt.Sprintf("Boolean expression to filter rows from the table %q. All fields are combined with a logical 'AND'.", q)),
		name, name, name, name)
	for _, c := range v.columns {
		pr("  %s: %s_comparison_exp\n", v.field(c), b.columnType(v.info, c))
	}
	for _, r := range v.rels {
		if v.fields[r.rel.Name] != nil {
			pr("  %s: %s_bool_exp\n", r.rel.Name, r.remote.name)
		}
	}
	pr("}\n\n")

	if v.orderable {
		pr("%s\ninput %s_order_by {\n", describe(fmt.Sprintf("Ordering options when selecting data from %q.", q)), name)
		for _, f := range orderByFields(v) {
			pr("  %s\n", f)
		}
		pr("}\n\n")
	}

	if len(v.columns) > 0 {
		pr("%s\nenum %s_select_column {\n", describe(fmt.Sprintf("select columns of table %q", q)), name)
		for _, c := range v.columns {
			pr("  %s\n  %s\n", describe("column name"), v.field(c))
		}
		pr("}\n\n")
	}

	if v.aggregations {
		w.WriteString(b.aggregateTypes(v))
	}
	return w.String()
}

// aggregateColumns returns the columns an aggregate function takes.
func aggregateColumns(v *tableView, fn string) []*compiler.Column {
	var out []*compiler.Column
	for _, c := range v.columns {
		s := scalarFor(c.Type)
		if v.info.EnumOf(c.Name) != nil {
			continue // Hasura aggregates scalar columns only
		}
		if slices.Contains(orderedAggregates, fn) && isOrderedScalar(s) || !slices.Contains(orderedAggregates, fn) && isNumericScalar(s) {
			out = append(out, c)
		}
	}
	return out
}

// aggregateResultType is the GraphQL type of fn over column c.
func aggregateResultType(fn string, c *compiler.Column) string {
	if fn == "sum" || fn == "max" || fn == "min" {
		return scalarFor(c.Type)
	}
	return scalarFloat
}

func (b *schemaBuilder) aggregateTypes(v *tableView) string {
	var w strings.Builder
	pr := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	name, q := v.name, describeName(v.info.Name())

	pr("%s\ntype %s_aggregate {\n  aggregate: %s_aggregate_fields\n", describe(fmt.Sprintf("aggregated selection of %q", q)), name, name)
	if v.row {
		pr("  nodes: [%s!]!\n", name)
	}
	pr("}\n\n")

	pr("%s\ntype %s_aggregate_fields {\n", describe(fmt.Sprintf("aggregate fields of %q", q)), name)
	for _, fn := range aggregateOrder {
		if fn == "count" {
			if len(v.columns) == 0 {
				// No column to count, and an enum needs a value.
				pr("  count(distinct: Boolean): Int!\n")
				continue
			}
			pr("  count(columns: [%s_select_column!], distinct: Boolean): Int!\n", name)
			continue
		}
		if len(aggregateColumns(v, fn)) > 0 {
			pr("  %s: %s_%s_fields\n", fn, name, fn)
		}
	}
	pr("}\n\n")

	pr("%s\ninput %s_aggregate_order_by {\n", describe(fmt.Sprintf("order by aggregate values of table %q", q)), name)
	for _, fn := range aggregateOrder {
		if fn == "count" {
			pr("  count: order_by\n")
			continue
		}
		if len(aggregateColumns(v, fn)) > 0 {
			pr("  %s: %s_%s_order_by\n", fn, name, fn)
		}
	}
	pr("}\n\n")

	for _, fn := range aggregateOrder {
		cols := aggregateColumns(v, fn)
		if fn == "count" || len(cols) == 0 {
			continue
		}
		pr("%s\ntype %s_%s_fields {\n", describe(fmt.Sprintf("aggregate %s on columns", fn)), name, fn)
		for _, c := range cols {
			pr("  %s: %s\n", v.field(c), aggregateResultType(fn, c))
		}
		pr("}\n\n")
		pr("%s\ninput %s_%s_order_by {\n", describe(fmt.Sprintf("order by %s() on columns of table %q", fn, q)), name, fn)
		for _, c := range cols {
			pr("  %s: order_by\n", v.field(c))
		}
		pr("}\n\n")
	}
	return w.String()
}

// comparisonExp writes <Scalar>_comparison_exp.
func (b *schemaBuilder) comparisonExp(s string) {
	b.printf("%s\ninput %s_comparison_exp {\n", describe(fmt.Sprintf("Boolean expression to compare columns of type %q. All fields are combined with logical 'AND'.", s)), s)
	type op struct{ name, typ string }
	ops := []op{{"_eq", s}, {"_gt", s}, {"_gte", s}}
	switch s {
	case scalarString:
		ops = append(ops, op{"_ilike", s}, op{"_in", "[" + s + "!]"}, op{"_iregex", s}, op{"_is_null", scalarBoolean},
			op{"_like", s}, op{"_lt", s}, op{"_lte", s}, op{"_neq", s}, op{"_nilike", s}, op{"_nin", "[" + s + "!]"},
			op{"_niregex", s}, op{"_nlike", s}, op{"_nregex", s}, op{"_nsimilar", s}, op{"_regex", s}, op{"_similar", s})
	case "jsonb":
		ops = []op{{"_contained_in", s}, {"_contains", s}, {"_eq", s}, {"_gt", s}, {"_gte", s},
			{"_has_key", scalarString}, {"_has_keys_all", "[String!]"}, {"_has_keys_any", "[String!]"},
			{"_in", "[" + s + "!]"}, {"_is_null", scalarBoolean}, {"_lt", s}, {"_lte", s}, {"_neq", s}, {"_nin", "[" + s + "!]"}}
	default:
		ops = append(ops, op{"_in", "[" + s + "!]"}, op{"_is_null", scalarBoolean}, op{"_lt", s}, op{"_lte", s},
			op{"_neq", s}, op{"_nin", "[" + s + "!]"})
		for _, g := range geoOperators(s) {
			ops = append(ops, op{g[0], g[1]})
		}
	}
	for _, o := range ops {
		b.printf("  %s: %s\n", o.name, o.typ)
	}
	b.printf("}\n\n")
	b.printf("%s", geoInputs(s))
}

// queryRoot writes query_root: for each table its list, aggregate and
// by-primary-key fields, as the role's root-field settings allow.
func (b *schemaBuilder) queryRoot() string {
	var w strings.Builder
	pr := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	pr("type %s {\n", queryRootName)
	n := 0
	for _, v := range b.rs.views {
		q := describeName(v.info.Name())
		names := v.info.GraphQL
		if v.rootSelect {
			b.rs.roots[names.Root("select")] = &rootField{kind: rootList, view: v}
			pr("  %s\n  %s%s: [%s!]!\n", rootDescription(names, "select", fmt.Sprintf("fetch data from the table: %q", q)), names.Root("select"), listArgs(v), v.name)
			n++
		}
		if v.rootAggregate {
			b.rs.roots[names.Root("select_aggregate")] = &rootField{kind: rootAggregate, view: v}
			pr("  %s\n  %s%s: %s_aggregate!\n", rootDescription(names, "select_aggregate", fmt.Sprintf("fetch aggregated fields from the table: %q", q)), names.Root("select_aggregate"), listArgs(v), v.name)
			n++
		}
		if v.rootByPK {
			b.rs.roots[names.Root("select_by_pk")] = &rootField{kind: rootByPK, view: v}
			pr("  %s\n  %s(%s): %s\n", rootDescription(names, "select_by_pk", fmt.Sprintf("fetch data from the table: %q using primary key columns", q)), names.Root("select_by_pk"), b.pkArgs(v), v.name)
			n++
		}
	}
	n += b.functionFields(pr)
	if n == 0 {
		b.rs.noRoot = true
		pr("  %s: String!\n", noQueriesField)
	}
	pr("}\n\n")
	return w.String()
}

// rootDescription is a root field's description: the comment its
// custom_root_fields entry gives, or Hasura's default text.
func rootDescription(names *compiler.GraphQLNames, kind, def string) string {
	if c := names.RootComment(kind); c != "" {
		return describe(c)
	}
	return describe(def)
}

// pkArgs are the arguments of a _by_pk field: the primary key columns by
// their GraphQL names.
func (b *schemaBuilder) pkArgs(v *tableView) string {
	args := make([]string, len(v.pk))
	for i, c := range v.pk {
		args[i] = v.field(c) + ": " + b.columnType(v.info, c) + "!"
	}
	return strings.Join(args, ", ")
}
