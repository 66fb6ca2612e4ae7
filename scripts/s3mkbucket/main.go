// Command s3mkbucket creates a bucket on an S3-compatible server (path-style,
// static keys from ROOT_ACCESS_KEY / ROOT_SECRET_KEY, as versitygw takes them),
// retrying while the server finishes starting. scripts/bench-peers.sh uses it
// so that no aws CLI is needed:
//
//	ROOT_ACCESS_KEY=... ROOT_SECRET_KEY=... go run ./scripts/s3mkbucket http://127.0.0.1:PORT BUCKET
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: s3mkbucket ENDPOINT BUCKET (keys from ROOT_ACCESS_KEY, ROOT_SECRET_KEY)")
		os.Exit(2)
	}
	endpoint, bucket := os.Args[1], os.Args[2]
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(
			os.Getenv("ROOT_ACCESS_KEY"), os.Getenv("ROOT_SECRET_KEY"), ""),
	})
	var err error
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		cancel()
		if err == nil {
			return
		}
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			break // the server answered: retrying will not help
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "create bucket %s at %s: %v\n", bucket, endpoint, err)
	os.Exit(1)
}
