package observe

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// OTelConfig is Hasura's OpenTelemetry configuration, as the metadata
// holds it (a metadata directory's opentelemetry.yaml, or the
// `opentelemetry` key of an exported metadata file; Hasura's
// set_opentelemetry_config arguments). rowguard exports traces; the
// other data types are Prometheus' (/metrics) or the JSON logs'.
type OTelConfig struct {
	// File is where the configuration was read.
	File string
	// Enabled is status: enabled (Hasura's default is disabled).
	Enabled bool
	// DataTypes are the data types to export (traces, metrics, logs);
	// Hasura's default when absent is traces.
	DataTypes []string
	// TracesEndpoint is exporter_otlp.otlp_traces_endpoint, a full URL
	// (usually ending in /v1/traces).
	TracesEndpoint string
	// Headers are sent with each export (value, or value_from_env read
	// when the file is loaded).
	Headers map[string]string
	// ResourceAttributes are added to the resource of every span.
	ResourceAttributes map[string]string
	// MaxExportBatchSize is batch_span_processor.max_export_batch_size
	// (0: the SDK's default, 512).
	MaxExportBatchSize int
}

// Traces reports whether the configuration asks for traces.
func (c *OTelConfig) Traces() bool {
	return c != nil && c.Enabled && slices.Contains(c.DataTypes, "traces")
}

// Unexported lists the data types asked for that rowguard does not
// export over OTLP.
func (c *OTelConfig) Unexported() []string {
	var out []string
	if c == nil || !c.Enabled {
		return nil
	}
	for _, d := range c.DataTypes {
		if d != "traces" {
			out = append(out, d)
		}
	}
	return out
}

// LoadOTelConfig reads the OpenTelemetry configuration of the metadata at
// path: a directory's opentelemetry.yaml, or the `opentelemetry` key of
// an exported metadata file (JSON or YAML). It returns nil when there is
// none; an error names the file and line of what is wrong. getenv reads
// the headers' value_from_env.
func LoadOTelConfig(path string, getenv func(string) string) (*OTelConfig, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	file := path
	if fi.IsDir() {
		file = filepath.Join(path, "opentelemetry.yaml")
		if _, err := os.Stat(file); err != nil {
			return nil, nil
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	n := doc.Content[0]
	if !fi.IsDir() {
		n = mappingValue(n, "opentelemetry")
		if n == nil {
			return nil, nil
		}
	}
	p := &otelParser{file: file, getenv: getenv}
	cfg := p.config(n)
	if p.err != nil {
		return nil, p.err
	}
	return cfg, nil
}

// mappingValue is the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// otelParser reads the configuration, keeping the first error.
type otelParser struct {
	file   string
	getenv func(string) string
	err    error
}

func (p *otelParser) errorf(n *yaml.Node, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%s:%d:%d: %s", p.file, n.Line, n.Column, fmt.Sprintf(format, args...))
	}
}

// fields calls fn for each key of mapping n, refusing keys not in known.
func (p *otelParser) fields(n *yaml.Node, what string, known []string, fn func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be an object", what)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "%s has no key %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			continue
		}
		fn(k.Value, v)
	}
}

func (p *otelParser) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *otelParser) strs(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of strings", what)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, p.str(c, what+" item"))
	}
	return out
}

func (p *otelParser) config(n *yaml.Node) *OTelConfig {
	cfg := &OTelConfig{File: p.file, DataTypes: []string{"traces"}, Headers: map[string]string{}, ResourceAttributes: map[string]string{}}
	var exporter *yaml.Node
	p.fields(n, "opentelemetry", []string{"status", "data_types", "exporter_otlp", "batch_span_processor"}, func(key string, v *yaml.Node) {
		switch key {
		case "status":
			switch s := p.str(v, "status"); s {
			case "enabled":
				cfg.Enabled = true
			case "disabled", "":
			default:
				p.errorf(v, "status %q is not enabled or disabled", s)
			}
		case "data_types":
			cfg.DataTypes = nil
			for i, d := range p.strs(v, "data_types") {
				if d != "traces" && d != "metrics" && d != "logs" {
					p.errorf(v.Content[i], "data type %q is not traces, metrics or logs", d)
				}
				cfg.DataTypes = append(cfg.DataTypes, d)
			}
		case "exporter_otlp":
			exporter = v
			p.exporter(v, cfg)
		case "batch_span_processor":
			p.fields(v, "batch_span_processor", []string{"max_export_batch_size"}, func(_ string, v *yaml.Node) {
				if err := v.Decode(&cfg.MaxExportBatchSize); err != nil || cfg.MaxExportBatchSize < 1 {
					p.errorf(v, "max_export_batch_size must be a positive integer")
				}
			})
		}
	})
	if p.err == nil && cfg.Traces() && cfg.TracesEndpoint == "" {
		at := n
		if exporter != nil {
			at = exporter
		}
		p.errorf(at, "status is enabled with traces, but exporter_otlp.otlp_traces_endpoint is not set: set it (e.g. http://collector:4318/v1/traces) or set status: disabled")
	}
	return cfg
}

func (p *otelParser) exporter(n *yaml.Node, cfg *OTelConfig) {
	known := []string{"otlp_traces_endpoint", "otlp_metrics_endpoint", "otlp_logs_endpoint", "protocol", "headers", "resource_attributes", "traces_propagators"}
	p.fields(n, "exporter_otlp", known, func(key string, v *yaml.Node) {
		switch key {
		case "otlp_traces_endpoint":
			s := p.str(v, key)
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errorf(v, "otlp_traces_endpoint %q is not an http(s) URL such as http://collector:4318/v1/traces", s)
				return
			}
			cfg.TracesEndpoint = s
		case "otlp_metrics_endpoint", "otlp_logs_endpoint":
			p.str(v, key) // accepted: rowguard exports traces only
		case "protocol":
			if s := p.str(v, key); s != "http/protobuf" {
				p.errorf(v, "protocol %q is not supported: rowguard exports over http/protobuf (as Hasura)", s)
			}
		case "traces_propagators":
			for i, s := range p.strs(v, key) {
				if s != "tracecontext" {
					p.errorf(v.Content[i], "traces propagator %q is not supported: rowguard reads and writes W3C tracecontext", s)
				}
			}
		case "headers":
			p.list(v, "headers", func(item *yaml.Node) {
				var name, value string
				var fromEnv, hasValue bool
				p.fields(item, "a header", []string{"name", "value", "value_from_env"}, func(k string, v *yaml.Node) {
					switch k {
					case "name":
						name = p.str(v, "name")
					case "value":
						value, hasValue = p.str(v, "value"), true
					case "value_from_env":
						env := p.str(v, "value_from_env")
						value, fromEnv = p.getenv(env), true
						if value == "" {
							p.errorf(v, "header value_from_env %s: the environment variable is not set: set it in the server's environment, or give the header a value", env)
						}
					}
				})
				switch {
				case name == "":
					p.errorf(item, "a header needs a name")
				case hasValue == fromEnv:
					p.errorf(item, "header %q needs one of value and value_from_env", name)
				}
				cfg.Headers[name] = value
			})
		case "resource_attributes":
			p.list(v, "resource_attributes", func(item *yaml.Node) {
				var name, value string
				p.fields(item, "a resource attribute", []string{"name", "value"}, func(k string, v *yaml.Node) {
					if k == "name" {
						name = p.str(v, "name")
					} else {
						value = p.str(v, "value")
					}
				})
				if name == "" {
					p.errorf(item, "a resource attribute needs a name")
				}
				cfg.ResourceAttributes[name] = value
			})
		}
	})
}

func (p *otelParser) list(n *yaml.Node, what string, fn func(*yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list", what)
		return
	}
	for _, c := range n.Content {
		fn(c)
	}
}
