package devstack // import "github.com/recordreplay/otelcol-recordreplay/internal/devstack"

import (
	"fmt"
	"os"
	"strings"
)

// printInfo prints where everything is and the lines that use it, and
// writes DEV_DIR/env.
func (s *Stack) printInfo(set Settings) error {
	endpoint := set.S3Endpoint()
	otlpHTTP := "http://" + probe(set.HTTP)
	bucket := shellQuote(set.Bucket)
	keys := "AWS_ACCESS_KEY_ID=" + shellQuote(set.AccessKey) + " AWS_SECRET_ACCESS_KEY=" + shellQuote(set.SecretKey)
	s3vars := "STORE=s3 S3_ENDPOINT=" + endpoint + " S3_BUCKET=" + bucket + " " + keys
	envfile := s.path("env")
	env := fmt.Sprintf(`# The dev stack's store and collector (make dev-up); `+"`source %s`"+` and
# make seed, make seed-quick, make replay use it. Pass bin/sessionctl the --s3-* flags.
export STORE=s3
export S3_ENDPOINT=%s
export S3_BUCKET=%s
export S3_PREFIX=
export S3_REGION=us-east-1
export S3_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=%s
export AWS_SECRET_ACCESS_KEY=%s
export OTEL_EXPORTER_OTLP_ENDPOINT=%s
`, s.show(envfile), endpoint, bucket, shellQuote(set.AccessKey), shellQuote(set.SecretKey), otlpHTTP)
	if err := os.WriteFile(envfile, []byte(env), 0o600); err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	pid := func(path string) string {
		data, _ := os.ReadFile(path)
		return strings.TrimSpace(string(data))
	}
	fmt.Fprintf(s.stdout, `dev: S3 (versitygw)   %s  bucket %s  (files in %s)
dev: credentials      access key %s  secret key %s
dev: collector        OTLP gRPC %s  OTLP HTTP %s  health http://%s/
dev:                  %s, capturing into s3://%s/sessions/
dev: logs             %s  %s
dev: pid files        %s (%s)  %s (%s)

Send telemetry:       OTEL_EXPORTER_OTLP_ENDPOINT=%s (OTLP/HTTP), or gRPC at %s
Seed a session into the bucket:
  make seed-quick %s
Replay the latest completed session to the debug exporter, or back into the dev collector:
  make replay %s
  make replay %s REPLAY_ENDPOINT=%s
List the sessions:
  %s bin/sessionctl --s3-bucket %s --s3-endpoint %s --s3-path-style list
The same variables, for your shell:  source %s
Stop both (the data stays in %s):
  %s
`, endpoint, set.Bucket, s.show(s.path("s3")),
		set.AccessKey, set.SecretKey,
		set.GRPC, otlpHTTP, probe(set.Health),
		set.Config, set.Bucket,
		s.show(s.path("versitygw.log")), s.show(s.path("collector.log")),
		s.show(s.vgw.Path), pid(s.vgw.Path), s.show(s.collector.Path), pid(s.collector.Path),
		otlpHTTP, set.GRPC,
		s3vars,
		s3vars,
		s3vars, otlpHTTP,
		keys, bucket, endpoint,
		s.show(envfile),
		s.show(s.dir),
		s.downCmd())
	return nil
}

// shellQuote is v as one word of a shell command line: as it is when it
// has nothing special, else in single quotes.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
