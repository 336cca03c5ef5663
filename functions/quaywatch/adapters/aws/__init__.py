"""The AWS adapters: the only code that imports boto3 or botocore."""
