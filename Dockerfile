# Container-image packaging for models too large for a layer (images may be up to 10 GB).
# Build: docker build --platform linux/amd64 -t onnx-lambda .   (linux/arm64 for Graviton)
FROM public.ecr.aws/lambda/python:3.12

# Dependencies first, so a code or model change rebuilds only the layers below.
COPY infra/requirements-runtime.txt /tmp/requirements-runtime.txt
RUN pip install --no-cache-dir --only-binary=:all: --requirement /tmp/requirements-runtime.txt \
        --target "${LAMBDA_TASK_ROOT}" \
    && rm /tmp/requirements-runtime.txt

# The models where the model layer would put them; replace models/ with your own before building.
COPY models/*.onnx models/*.json /opt/models/
ENV ONNX_LAMBDA_MODELS=/opt/models

COPY handler/ ${LAMBDA_TASK_ROOT}/handler/

# checkov:skip=CKV_DOCKER_2: Lambda has no HEALTHCHECK; it checks an image by running its init phase.
# checkov:skip=CKV_DOCKER_3: Lambda runs every image as its own unprivileged user, whatever USER says.
CMD ["handler.lambda_handler"]
