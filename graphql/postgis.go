package graphql

import (
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// PostGIS columns (geometry and geography, Hasura's scalars of the same
// names) read and write GeoJSON: a column is rendered as
// ST_AsGeoJSON(col, 15, 4)::json (at most 15 decimal digits, the CRS
// spelled urn:ogc:def:crs:EPSG::<srid>, as Hasura answers), and their
// comparison types offer the _st_ operators, compiled by the compiler
// like the same operators in permissions.

// geoOperators lists the PostGIS operators of scalar s (geometry or
// geography) and their argument types, or nil for any other scalar.
func geoOperators(s string) [][2]string {
	switch s {
	case "geometry":
		return [][2]string{
			{"_st_3d_d_within", "st_d_within_input"}, {"_st_3d_intersects", s},
			{"_st_contains", s}, {"_st_crosses", s}, {"_st_d_within", "st_d_within_input"},
			{"_st_equals", s}, {"_st_intersects", s}, {"_st_overlaps", s},
			{"_st_touches", s}, {"_st_within", s},
		}
	case "geography":
		return [][2]string{{"_st_d_within", "st_d_within_geography_input"}, {"_st_intersects", s}}
	}
	return nil
}

// geoInputs renders the input type of _st_d_within for scalar s, or "".
func geoInputs(s string) string {
	switch s {
	case "geometry":
		return "input st_d_within_input {\n  distance: Float!\n  from: geometry!\n}\n\n"
	case "geography":
		return "input st_d_within_geography_input {\n  distance: Float!\n  from: geography!\n  use_spheroid: Boolean = true\n}\n\n"
	}
	return ""
}

// geoOutput renders a column for the response: GeoJSON for PostGIS
// columns, the column itself otherwise.
func geoOutput(col *compiler.Column, ref string) string {
	if compiler.GeoType(col.Type) == "" {
		return ref
	}
	return "ST_AsGeoJSON(" + ref + ", 15, 4)::json"
}

// geoValue turns the request's value of a PostGIS operator into the
// compiler's operand: a GeoJSON object (as JSON text), or for
// _st_d_within an object {distance, from, use_spheroid}.
func geoValue(op string, v any) policies.Value {
	if !policies.IsDWithinOperator(op) {
		return literal(v, false)
	}
	obj, _ := v.(object)
	d := &policies.DWithin{}
	if x, ok := obj.get("distance"); ok && x != nil {
		d.Distance = literal(x, false)
	}
	if x, ok := obj.get("from"); ok && x != nil {
		d.From = literal(x, false)
	}
	if x, ok := obj.get("use_spheroid"); ok && x != nil {
		d.UseSpheroid = literal(x, false)
	}
	return d
}
