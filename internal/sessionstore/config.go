package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
)

// Backend names a storage backend.
type Backend = confutil.Enum[backends]

// The storage backends.
const (
	BackendFilesystem Backend = "filesystem"
	BackendS3         Backend = "s3"
)

type backends struct{}

func (backends) Values() []string { return []string{string(BackendFilesystem), string(BackendS3)} }

// Config is the `store` block shared by every component that reads or
// writes sessions.
type Config struct {
	// Backend selects where sessions live: filesystem or s3.
	Backend Backend `mapstructure:"backend"`
	// Directory is the root of the filesystem backend.
	Directory string `mapstructure:"directory"`
	// S3 configures the s3 backend (AWS S3, MinIO or any S3-compatible store).
	S3 S3Config `mapstructure:"s3"`
	// Timeout bounds every store call (an S3 request with its response, a
	// file write with its fsync), so that a half-open connection or a hung
	// mount fails a call instead of freezing the component.
	Timeout time.Duration `mapstructure:"timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// S3Config configures the S3 backend.
type S3Config struct {
	// Bucket holds the sessions.
	Bucket string `mapstructure:"bucket"`
	// Prefix is prepended to every key, e.g. "otel/" (a trailing slash is added).
	Prefix string `mapstructure:"prefix"`
	// Region of the bucket; S3-compatible servers usually accept us-east-1.
	Region string `mapstructure:"region"`
	// Endpoint overrides the S3 endpoint, e.g. http://minio:9000. Empty means AWS.
	Endpoint string `mapstructure:"endpoint"`
	// UsePathStyle addresses buckets as endpoint/bucket/key instead of
	// bucket.endpoint/key; MinIO and most S3-compatible servers need it.
	UsePathStyle bool `mapstructure:"use_path_style"`
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials;
	// when AccessKeyID is empty the SDK's default credential chain is used
	// (environment, shared config, web identity, instance role).
	AccessKeyID     string              `mapstructure:"access_key_id"`
	SecretAccessKey configopaque.String `mapstructure:"secret_access_key"`
	SessionToken    configopaque.String `mapstructure:"session_token"`
	// TLS configures the client side of HTTPS connections to the endpoint.
	TLS configtls.ClientConfig `mapstructure:"tls"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultConfig returns the defaults: a filesystem store in ./data, and
// S3 settings that only need a bucket.
func NewDefaultConfig() Config {
	return Config{
		Backend:   BackendFilesystem,
		Directory: "./data",
		Timeout:   DefaultTimeout,
		S3: S3Config{
			Bucket: "otel-data",
			Region: "us-east-1",
		},
	}
}

// Validate checks the block for the selected backend. Its errors name
// their fields within the block (timeout, s3.bucket): the collector puts
// the block's path in front, Open puts "store".
func (c *Config) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, confutil.Errorf("timeout", "%s must be positive", c.Timeout))
	}
	switch c.Backend {
	case BackendFilesystem:
		if strings.TrimSpace(c.Directory) == "" {
			errs = append(errs, confutil.Errorf("directory", "must not be empty with backend filesystem"))
		}
	case BackendS3:
		// checked here, not by a Validate of its own, which the
		// collector's walk would run again with every backend
		errs = append(errs, confutil.In("s3", c.S3.check()))
	default:
		var b Backend
		errs = append(errs, confutil.In("backend", b.UnmarshalText([]byte(c.Backend))))
	}
	return errors.Join(errs...)
}

// check checks the S3 settings; errors name the fields within s3.
func (c *S3Config) check() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, confutil.Errorf("bucket", "must not be empty with backend s3"))
	} else if strings.ContainsAny(c.Bucket, "/ ") {
		errs = append(errs, confutil.Errorf("bucket", "%q must be a bare bucket name (no slashes or spaces)", c.Bucket))
	}
	if c.Region == "" {
		errs = append(errs, confutil.Errorf("region", "must not be empty (S3-compatible servers usually take us-east-1)"))
	}
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		if err := ValidateKey(p); err != nil {
			errs = append(errs, confutil.Errorf("prefix", "%q: %w", c.Prefix, err))
		}
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, confutil.Errorf("endpoint", "%q must be an http:// or https:// URL", c.Endpoint))
		}
	}
	if c.AccessKeyID == "" && (c.SecretAccessKey != "" || c.SessionToken != "") {
		errs = append(errs, confutil.Errorf("access_key_id", "must be set with secret_access_key or session_token"))
	}
	if c.AccessKeyID != "" && c.SecretAccessKey == "" {
		errs = append(errs, confutil.Errorf("secret_access_key", "must be set with access_key_id"))
	}
	// tls is configtls's block, with a Validate of its own that the
	// collector's walk runs; Open runs it too
	return errors.Join(errs...)
}

// Open connects to the configured backend. It does no network I/O; call
// Ping to check that the store is reachable. The store's calls are bounded
// only by their contexts: bound them with WithTimeout(store, c.Timeout),
// as every component and sessionctl do (tests wrap faults in between).
func Open(ctx context.Context, c *Config) (Store, error) {
	err := c.Validate()
	if c.Backend == BackendS3 {
		err = errors.Join(err, confutil.In("s3.tls", c.S3.TLS.Validate()))
	}
	if err != nil {
		return nil, Permanent(confutil.In("store", err))
	}
	switch c.Backend {
	case BackendS3:
		return OpenS3(ctx, &c.S3, c.Timeout)
	default:
		return OpenFilesystem(c.Directory)
	}
}

// Describe returns where the store's root is, e.g. "s3://bucket/prefix" or a
// directory, for logs and metadata.
func (c *Config) Describe() string {
	if c.Backend == BackendS3 {
		return "s3://" + c.S3.Bucket + "/" + normalizePrefix(c.S3.Prefix)
	}
	return c.Directory
}

func normalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}
