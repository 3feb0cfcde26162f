"""AWS Lambda's published prices: the one place the cost estimates take them from.

Source: https://aws.amazon.com/lambda/pricing/ (read 2026-12-04), us-east-1, on-demand, the first
pricing tier (the first 6 billion GB-seconds a month on x86_64, 7.5 billion on arm64). Free tier
ignored. Since 1 August 2025 the INIT phase of on-demand functions is billed like invocation time
(https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
"""

PRICES_DATE = "2026-12-04"
PRICES_SOURCE = "https://aws.amazon.com/lambda/pricing/ (us-east-1, on-demand, first tier)"
USD_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
USD_PER_REQUEST = 0.20 / 1_000_000
BILLING_GRANULARITY_MS = 1
INIT_IS_BILLED = True
# Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB.
MB_PER_VCPU = 1769
MEMORY_SIZES_MB = (512, 1024, 1769, 3008)
