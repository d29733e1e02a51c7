"""Schemathesis hooks: behave like a well-mannered client.

An `Idempotency-Key` identifies one logical request, so clients draw a fresh one per request.
Schemathesis would otherwise reuse generated values across different bodies, which the API
(correctly) refuses with 422 `idempotency-key-reused`.
"""
import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    headers = case.headers or {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
