package graphql

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// enumValue is one row of an enum table: a value of its GraphQL enum.
type enumValue struct {
	name    string
	comment string
}

// enumValues holds the values of every enum table, by table, sorted by
// name. They are data: the server reads them when it builds the schemas,
// so an enum table whose rows change needs a reload, as in Hasura.
type enumValues map[policies.QualifiedTable][]enumValue

// loadEnumValues reads the rows of prog's enum tables as the admin role
// (the server's login may not read them itself) and checks that each is a
// GraphQL enum value name, as Hasura does before it accepts the metadata.
func loadEnumValues(ctx context.Context, pool *pgxpool.Pool, prog *compiler.Program) (enumValues, error) {
	var tables []*compiler.TableInfo
	for _, t := range prog.Tables {
		if t.Enum != nil {
			tables = append(tables, t)
		}
	}
	if len(tables) == 0 {
		return nil, nil
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("read enum tables: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true)", prog.AdminPGRole()); err != nil {
		return nil, fmt.Errorf("read enum tables as role %s, which `rowguard migrate up` creates and grants to the login role: %w", prog.AdminPGRole(), err)
	}
	out := enumValues{}
	for _, t := range tables {
		comment := "NULL"
		if t.Enum.Comment != nil {
			comment = compiler.QuoteIdent(t.Enum.Comment.Name)
		}
		key := compiler.QuoteIdent(t.Enum.Key.Name)
		rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s, coalesce(%s, '') FROM %s ORDER BY 1", key, comment, compiler.QuoteTable(t.Name())))
		if err != nil {
			return nil, fmt.Errorf("read enum table %s: %w", t.Name(), err)
		}
		var vals []enumValue
		var bad []string
		for rows.Next() {
			var v enumValue
			if err := rows.Scan(&v.name, &v.comment); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read enum table %s: %w", t.Name(), err)
			}
			if !validEnumValue(v.name) {
				bad = append(bad, fmt.Sprintf("%q", v.name))
			}
			vals = append(vals, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read enum table %s: %w", t.Name(), err)
		}
		switch {
		case len(bad) > 0:
			return nil, fmt.Errorf("%s: enum table %s: the values %s are not valid GraphQL enum value names ([_A-Za-z][_0-9A-Za-z]*, not true, false or null): change those rows, or remove `is_enum: true`", t.Pos, t.Name(), strings.Join(bad, ", "))
		case len(vals) == 0:
			return nil, fmt.Errorf("%s: enum table %s has no rows, and a GraphQL enum needs at least one value: insert its values (a Hasura project's seeds: `rowguard migrate up --seeds`), or remove `is_enum: true`", t.Pos, t.Name())
		}
		out[t.Name()] = vals
	}
	return out, nil
}

// validEnumValue reports whether s can name a GraphQL enum value.
func validEnumValue(s string) bool {
	return validName(s) && s != "true" && s != "false" && s != "null"
}

// columnType returns the GraphQL type of a column of info, nullable: the
// enum of the enum table it references, or its scalar. It records the
// type, so the schema declares it with its comparison expression.
func (b *schemaBuilder) columnType(info *compiler.TableInfo, c *compiler.Column) string {
	if e := info.EnumOf(c.Name); e != nil {
		b.enums[e] = true
		return e.EnumTypeName()
	}
	s := scalarFor(c.Type)
	b.scalars[s] = true
	return s
}

// enumTypes writes the enums the schema uses, each with its
// <enum>_comparison_exp (Hasura's: equality, membership and null checks).
func (b *schemaBuilder) enumTypes() error {
	var tables []*compiler.TableInfo
	for t := range b.enums {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].EnumTypeName() < tables[j].EnumTypeName() })
	for _, t := range tables {
		vals, ok := b.enumVals[t.Name()]
		if !ok {
			return fmt.Errorf("the values of enum table %s were not loaded", t.Name())
		}
		name := t.EnumTypeName()
		if t.GraphQL.Comment != "" {
			b.printf("%s\n", describe(t.GraphQL.Comment))
		}
		b.printf("enum %s {\n", name)
		for _, v := range vals {
			if v.comment != "" {
				b.printf("  %s\n", describe(v.comment))
			}
			b.printf("  %s\n", v.name)
		}
		b.printf("}\n\n")
		b.printf("%s\ninput %s_comparison_exp {\n", describe(fmt.Sprintf("Boolean expression to compare columns of type %q. All fields are combined with logical 'AND'.", name)), name)
		b.printf("  _eq: %s\n  _in: [%s!]\n  _is_null: Boolean\n  _neq: %s\n  _nin: [%s!]\n}\n\n", name, name, name, name)
	}
	return nil
}
