package graphql

// mutationRoot writes the role's mutation_root and the types it needs, and
// returns "" when the role has no mutations. Until mutations are planned,
// no role has any: a mutation then fails validation with Hasura's "no
// mutations exist".
//
// To add mutations: write the insert/update/delete fields here from the
// role's compiler.Permission of those ops (b.rs.views lists the tables the
// role can select; prog tables it can only write need views of their own),
// record what each field means in b.rs (as queryRoot does in b.rs.roots),
// and plan them in a mutation planner. build() declares mutation_root in
// the schema block whenever this returns SDL.
func (b *schemaBuilder) mutationRoot() string {
	return ""
}
