package compiler

import (
	"encoding/json"
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// DWithinValue is the operand of _st_d_within and _st_3d_d_within: a
// GeoJSON geometry (text), a distance (double precision) and, for
// geography columns, whether to measure on the spheroid (boolean; nil when
// not given).
type DWithinValue struct {
	From, Distance, UseSpheroid Operand
}

func (*DWithinValue) isOperand() {}

// postgisFunctions maps each PostGIS operator to its function.
var postgisFunctions = map[string]string{
	"_st_contains": "ST_Contains", "_st_crosses": "ST_Crosses", "_st_equals": "ST_Equals",
	"_st_intersects": "ST_Intersects", "_st_overlaps": "ST_Overlaps", "_st_touches": "ST_Touches",
	"_st_within": "ST_Within", "_st_d_within": "ST_DWithin",
	"_st_3d_intersects": "ST_3DIntersects", "_st_3d_d_within": "ST_3DDWithin",
}

// GeoType returns "geometry" or "geography" for a column of a PostGIS
// type (with or without a modifier such as geometry(Point,4326)), else "".
func GeoType(colType string) string {
	switch t := CastType(colType); t {
	case "geometry", "geography":
		return t
	}
	return ""
}

// GeographyOperators are the PostGIS operators Hasura offers on geography
// columns; geometry columns take every one of postgisFunctions.
var GeographyOperators = []string{"_st_d_within", "_st_intersects"}

// postgis resolves a PostGIS operator (policies.IsPostGISOperator) on col.
func (c *compiler) postgis(col *Column, cmp *policies.Comparison, what string) Operand {
	geo := GeoType(col.Type)
	if geo == "" {
		c.errorf(cmp.Pos, "%s is a PostGIS operator: it needs a geometry or geography column, and %s is %s (the operators exist only where PostGIS is installed: CREATE EXTENSION postgis)",
			cmp.Op, col.Name, col.Type)
		return nil
	}
	if geo == "geography" && !listHas(GeographyOperators, cmp.Op) {
		c.errorf(cmp.Pos, "%s does not apply to the geography column %s: use %s", cmp.Op, col.Name, strings.Join(GeographyOperators, " or "))
		return nil
	}
	if !policies.IsDWithinOperator(cmp.Op) {
		return c.geoJSON(cmp.Value, what)
	}
	dw, ok := cmp.Value.(*policies.DWithin)
	if !ok {
		c.errorf(cmp.Pos, "%s takes {distance, from, use_spheroid}", cmp.Op)
		return nil
	}
	v := &DWithinValue{From: c.geoJSON(dw.From, what), Distance: c.operand(dw.Distance, "double precision", what+" distance")}
	if dw.UseSpheroid != nil {
		if geo != "geography" {
			c.errorf(dw.UseSpheroid.Position(), "use_spheroid applies to geography columns only; %s is %s", col.Name, col.Type)
			return nil
		}
		v.UseSpheroid = c.operand(dw.UseSpheroid, "boolean", what+" use_spheroid")
	}
	if v.From == nil || v.Distance == nil {
		return nil
	}
	return v
}

// geoJSON resolves a GeoJSON operand to text: an object from the metadata,
// JSON text, or a session variable holding JSON text.
func (c *compiler) geoJSON(v policies.Value, what string) Operand {
	if lit, ok := v.(*policies.Literal); ok {
		switch x := lit.V.(type) {
		case string:
			return &Const{Text: x, Type: "text"}
		case map[string]any:
			b, err := json.Marshal(x)
			if err != nil {
				c.errorf(lit.Pos, "%s: the GeoJSON value is not JSON: %v", what, err)
				return nil
			}
			return &Const{Text: string(b), Type: "text"}
		}
		c.errorf(lit.Pos, "%s takes a GeoJSON geometry object, such as {type: Point, coordinates: [1, 2]}", what)
		return nil
	}
	return c.operand(v, "text", what)
}

// postgis renders a PostGIS comparison: the function of the operator over
// the column and the operand's geometry (ST_GeomFromGeoJSON, cast to
// geography for a geography column).
func (r *Renderer) postgis(e *Compare, left string) string {
	geo := GeoType(e.Column.Type)
	from := func(o Operand) string {
		s := GeoFromJSON(r.Operand(o, ""), geo)
		// A scalar subquery: PostgreSQL parses the GeoJSON once per
		// statement (an InitPlan), and the operator can use an index.
		return "(SELECT " + s + ")"
	}
	fn := postgisFunctions[e.Op]
	if dw, ok := e.Right.(*DWithinValue); ok {
		args := []string{left, from(dw.From), r.Operand(dw.Distance, "")}
		if dw.UseSpheroid != nil {
			args = append(args, r.Operand(dw.UseSpheroid, ""))
		}
		return fn + "(" + strings.Join(args, ", ") + ")"
	}
	return fn + "(" + left + ", " + from(e.Right) + ")"
}

// IsGeoJSON reports whether text, a value for a geometry or geography,
// is GeoJSON (an object), as Hasura takes such values, rather than one of
// PostGIS's own text forms (WKT, EWKT, hex WKB).
func IsGeoJSON(text string) bool {
	return strings.HasPrefix(strings.TrimSpace(text), "{")
}

// GeoFromJSON renders the geometry (or geography, geo) of the GeoJSON text
// expression s.
func GeoFromJSON(s, geo string) string {
	out := "ST_GeomFromGeoJSON(" + s + ")"
	if geo == "geography" {
		out += "::geography"
	}
	return out
}

func listHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
