"""The integration guide's Flask receiver ("Webhook Security" and "Report Delivery"), as written.

Only the parts the guide leaves to the integrator are filled in: process_completed_report appends
the event to RECEIVED_LOG so the test can see it, and the app runs on PORT.
"""

import hashlib
import hmac
import json
import os

from flask import Flask, jsonify, request

app = Flask(__name__)


def verify_webhook_signature(req) -> bool:
    secret = os.environ.get("AVARA_JWT_WEBHOOK_SECRET")
    if not secret:
        raise ValueError("AVARA_JWT_WEBHOOK_SECRET not configured")
    signature = req.headers.get("X-Avara-Signature")
    timestamp = req.headers.get("X-Avara-Timestamp")
    if not signature or not timestamp:
        return False
    payload = req.get_data(as_text=True)
    expected_signature = hmac.new(
        secret.encode("utf-8"), (timestamp + payload).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(signature, expected_signature)


# See Webhook Security section for verify_webhook_signature implementation
@app.route("/webhooks/avara", methods=["POST"])
def handle_webhook():
    if not verify_webhook_signature(request):
        return jsonify({"error": "Invalid signature"}), 401
    event = request.json
    if event["type"] == "report.delivered":
        report_id = event["data"]["reportId"]
        study_id = event["data"]["studyId"]
        plain_text = event["data"].get("plainText")
        presigned_url = event["data"]["presignedUrl"]
        # This is your internal business logic
        process_completed_report(
            {
                "report_id": report_id,
                "study_id": study_id,
                "plain_text": plain_text,
                "presigned_url": presigned_url,
            }
        )
        return jsonify({"success": True}), 200


# This is your internal business logic
def process_completed_report(data: dict):
    with open(os.environ["RECEIVED_LOG"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(data, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), threaded=True)
