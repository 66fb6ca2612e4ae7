package versitygw // import "github.com/recordreplay/otelcol-recordreplay/internal/versitygw"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// CreateBucket creates bucket on the S3 server at endpoint (path style,
// region us-east-1, static keys), retrying while the server does not answer
// yet (it may be finishing its start), until ctx is done. An answer of the
// server (an error code) is final.
func CreateBucket(ctx context.Context, endpoint, accessKey, secretKey, bucket string) error {
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
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
