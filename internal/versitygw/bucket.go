package versitygw // import "github.com/recordreplay/otelcol-recordreplay/internal/versitygw"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// CreateBucket creates bucket on the S3 server at endpoint (path style,
// region us-east-1, static keys), with the client of the store's S3 backend,
// retrying while the server does not answer yet (it may be finishing its
// start), until ctx is done. An answer of the server (an error code) is final.
func CreateBucket(ctx context.Context, endpoint, accessKey, secretKey, bucket string) error {
	cfg := sessionstore.NewDefaultConfig()
	cfg.S3.Bucket = bucket
	cfg.S3.Region = "us-east-1"
	cfg.S3.Endpoint = endpoint
	cfg.S3.UsePathStyle = true
	cfg.S3.AccessKeyID = accessKey
	cfg.S3.SecretAccessKey = configopaque.String(secretKey)
	st, err := sessionstore.OpenS3(ctx, &cfg.S3, 5*time.Second)
	if err != nil {
		return fmt.Errorf("create bucket %s at %s: %w", bucket, endpoint, err)
	}
	defer st.Close()
	client, ok := sessionstore.S3Client(st)
	if !ok {
		return errors.New("sessionstore.OpenS3 gave no S3 client")
	}
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := client.CreateBucket(actx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		cancel()
		if err == nil {
			return nil
		}
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) || ctx.Err() != nil {
			return fmt.Errorf("create bucket %s at %s: %w", bucket, endpoint, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create bucket %s at %s: %w", bucket, endpoint, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CreateBucket creates bucket on the server.
func (c Config) CreateBucket(ctx context.Context, bucket string) error {
	return CreateBucket(ctx, c.Endpoint(), c.AccessKey, c.SecretKey, bucket)
}

// HasBucket reports whether the server's directory has bucket (a bucket of
// the posix backend is a directory).
func (c Config) HasBucket(bucket string) bool {
	st, err := os.Stat(filepath.Join(c.Dir, bucket))
	return err == nil && st.IsDir()
}
