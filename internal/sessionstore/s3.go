package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3Store keeps objects in an S3 bucket under a key prefix. It speaks only
// the plain S3 API (path style on request, checksums only when an operation
// requires one), so MinIO and other S3-compatible servers work as AWS does.
type s3Store struct {
	client *s3.Client
	bucket string
	prefix string // "" or ends in "/"
}

var _ Store = (*s3Store)(nil)

// OpenS3 builds an S3 client for c. No request is made. timeout (if
// positive) bounds connecting and waiting for a response's headers, so a
// half-open connection fails instead of hanging.
func OpenS3(ctx context.Context, c *S3Config, timeout time.Duration) (Store, error) {
	tlsCfg, err := c.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, Permanent(fmt.Errorf("s3 store: tls: %w", err))
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tlsCfg != nil {
			tr.TLSClientConfig = tlsCfg
		}
		// Exporter queues write with several consumers at once.
		tr.MaxIdleConnsPerHost = 32
		if timeout > 0 {
			tr.ResponseHeaderTimeout = timeout
			tr.TLSHandshakeTimeout = timeout
		}
	})
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(c.Region),
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// The components retry with their own backoff (exporterhelper, the
		// replay loop); the SDK's client-side retry quota would turn a long
		// outage into instant "retry quota exceeded" failures afterwards.
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		}),
	}
	if c.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			c.AccessKeyID, string(c.SecretAccessKey), string(c.SessionToken))))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, Permanent(fmt.Errorf("s3 store: load AWS config: %w", err))
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = c.UsePathStyle
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &s3Store{client: client, bucket: c.Bucket, prefix: normalizePrefix(c.Prefix)}, nil
}

func (s *s3Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// KeyPrefix implements Store.
func (s *s3Store) KeyPrefix() string { return s.prefix }

func (s *s3Store) Close() error { return nil }

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	case strings.HasSuffix(key, ".gz"):
		// The object is a gzip file, not a gzip-encoded protobuf: setting
		// Content-Encoding would make HTTP clients silently inflate it.
		return "application/gzip"
	}
	return "application/octet-stream"
}

func (s *s3Store) Put(ctx context.Context, key string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType(key)),
	})
	if err != nil {
		return classifyS3Error(fmt.Errorf("put s3://%s/%s%s: %w", s.bucket, s.prefix, key, err))
	}
	return nil
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	})
	if err != nil {
		return nil, classifyS3Error(fmt.Errorf("get s3://%s/%s%s: %w", s.bucket, s.prefix, key, err))
	}
	return out.Body, nil
}

// Copy is a server-side CopyObject: the data never leaves the server.
func (s *s3Store) Copy(ctx context.Context, src, dst string) error {
	if err := ValidateKey(src); err != nil {
		return err
	}
	if err := ValidateKey(dst); err != nil {
		return err
	}
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(s.bucket),
		Key:        aws.String(s.prefix + dst),
		CopySource: aws.String(url.PathEscape(s.bucket) + "/" + escapeKey(s.prefix+src)),
	})
	if err != nil {
		return classifyS3Error(fmt.Errorf("copy s3://%s/%s%s to %s%s: %w", s.bucket, s.prefix, src, s.prefix, dst, err))
	}
	return nil
}

// escapeKey URL-encodes each segment of a key for a copy source, keeping
// its slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	})
	if err != nil {
		err = classifyS3Error(fmt.Errorf("delete s3://%s/%s%s: %w", s.bucket, s.prefix, key, err))
		if errors.Is(err, ErrNotFound) && !isBucketMissing(err) {
			return nil
		}
		return err
	}
	return nil
}

func (s *s3Store) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return s.ListAfter(ctx, prefix, "")
}

func (s *s3Store) ListAfter(ctx context.Context, prefix, startAfter string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		if err := validatePrefix(prefix); err != nil {
			yield(ObjectInfo{}, err)
			return
		}
		in := &s3.ListObjectsV2Input{
			Bucket: aws.String(s.bucket),
			Prefix: aws.String(s.prefix + prefix),
		}
		if startAfter != "" {
			in.StartAfter = aws.String(s.prefix + startAfter)
		}
		p := s3.NewListObjectsV2Paginator(s.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(ObjectInfo{}, classifyS3Error(fmt.Errorf("list s3://%s/%s%s: %w", s.bucket, s.prefix, prefix, err)))
				return
			}
			for _, o := range page.Contents {
				info := ObjectInfo{Key: strings.TrimPrefix(aws.ToString(o.Key), s.prefix), Size: aws.ToInt64(o.Size)}
				if o.LastModified != nil {
					info.ModTime = o.LastModified.UTC()
				}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

func (s *s3Store) ListPrefixes(ctx context.Context, prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:    aws.String(s.bucket),
		Prefix:    aws.String(s.prefix + prefix),
		Delimiter: aws.String("/"),
	})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classifyS3Error(fmt.Errorf("list s3://%s/%s%s: %w", s.bucket, s.prefix, prefix, err))
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, strings.TrimPrefix(aws.ToString(cp.Prefix), s.prefix))
		}
	}
	return out, nil
}

// Ping checks that the bucket exists and the credentials may use it.
func (s *s3Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err == nil {
		return nil
	}
	err = classifyS3Error(fmt.Errorf("s3://%s: %w", s.bucket, err))
	if errors.Is(err, ErrNotFound) {
		// HEAD has no body, so the SDK only knows "NotFound": say what it means.
		return Permanent(fmt.Errorf("bucket %q does not exist: %w", s.bucket, err))
	}
	if !isForbidden(err) {
		return err
	}
	// A policy may allow writing under the prefix and nothing else (no
	// s3:ListBucket, which HEAD bucket needs): writing is what capture
	// needs, so check that instead.
	if perr := s.Put(ctx, probeKey, nil); perr != nil {
		return fmt.Errorf("cannot write to s3://%s/%s (HEAD bucket: %v): %w", s.bucket, s.prefix, err, perr)
	}
	return nil
}

// probeKey is the object the start check writes when it may not list the
// bucket; it sits beside sessions/, where no listing of sessions sees it.
const probeKey = ".recordreplay-write-check"

func isForbidden(err error) bool {
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusForbidden {
		return true
	}
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode() == "AccessDenied" || apiErr.ErrorCode() == "Forbidden")
}

// permanentS3Codes are S3 error codes that no retry can fix, with what to
// change ("" where the code says it).
var permanentS3Codes = map[string]string{
	"AccessDenied":                 "check the credentials' policy for this bucket and prefix",
	"AllAccessDisabled":            "",
	"AccountProblem":               "",
	"InvalidAccessKeyId":           "check store.s3.access_key_id (or the AWS credentials in use)",
	"InvalidBucketName":            "check store.s3.bucket",
	"NoSuchBucket":                 "check store.s3.bucket, or create the bucket",
	"SignatureDoesNotMatch":        "check store.s3.secret_access_key (or the AWS credentials in use)",
	"InvalidObjectName":            "",
	"InvalidObjectState":           "the object is in an archive storage class (a lifecycle rule moved it): restore it first",
	"KeyTooLongError":              "use a shorter store.s3.prefix or session id",
	"MethodNotAllowed":             "",
	"Forbidden":                    "check the credentials' policy for this bucket and prefix",
	"InvalidArgument":              "the server refuses the request as sent; check store.s3.endpoint and that it is an S3 API",
	"InvalidRequest":               "the server refuses the request as sent; check store.s3.endpoint and that it is an S3 API",
	"AuthorizationHeaderMalformed": "the request was signed for the wrong region: set store.s3.region to the bucket's region",
	"PermanentRedirect":            "the bucket is in another region: set store.s3.region",
	"XAmzContentSHA256Mismatch":    "the server's checksum of the request body disagrees (a proxy that changes bodies, or a server that needs payload checksums)",
	"EntityTooLarge":               "the object is too large for this server; lower the exporter's batch size (sending_queue.batch.max_size)",
	"NotImplemented":               "the server does not implement this S3 request; it is not S3-compatible enough for this store",
}

func classifyS3Error(err error) error {
	var nsk *s3types.NoSuchKey
	var nf *s3types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var respErr *awshttp.ResponseError
	hasResp := errors.As(err, &respErr)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if code == "NoSuchKey" || code == "NotFound" {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if code == "NoSuchBucket" {
			return Permanent(fmt.Errorf("%w: %w", ErrNotFound, err))
		}
		if hint, ok := permanentS3Codes[code]; ok {
			if code == "PermanentRedirect" && hasResp && respErr.Response != nil {
				if region := respErr.Response.Header.Get("x-amz-bucket-region"); region != "" {
					hint = "the bucket is in region " + region + ": set store.s3.region to " + region
				}
			}
			return permanentWithHint(err, hint)
		}
	}
	if hasResp {
		switch status := respErr.HTTPStatusCode(); status {
		case http.StatusForbidden, http.StatusUnauthorized:
			return permanentWithHint(err, permanentS3Codes["AccessDenied"])
		case http.StatusNotImplemented:
			return permanentWithHint(err, permanentS3Codes["NotImplemented"])
		case http.StatusRequestEntityTooLarge:
			return permanentWithHint(err, permanentS3Codes["EntityTooLarge"])
		}
	}
	if isCertificateError(err) {
		return permanentWithHint(err, "the endpoint's TLS certificate is not trusted: set store.s3.tls.ca_file to the CA that signed it")
	}
	return err
}

func permanentWithHint(err error, hint string) error {
	if hint == "" {
		return Permanent(err)
	}
	return Permanent(fmt.Errorf("%w (%s)", err, hint))
}

// isCertificateError reports a TLS certificate the client does not accept:
// no retry makes it trusted.
func isCertificateError(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify)
}

func isBucketMissing(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchBucket"
}

// S3Client exposes the client behind an S3 store, for test set-up such as
// creating buckets. It reports false for other stores.
func S3Client(s Store) (*s3.Client, bool) {
	st, ok := s.(*s3Store)
	if !ok {
		return nil, false
	}
	return st.client, true
}
