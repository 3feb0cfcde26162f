"""The baseline function for bench/soak.py: Lambda's Python runtime and nothing else."""


def handler(event, context):
    return {"statusCode": 200}
