// The integration guide's Express receiver ("Webhook Security" and "Report Delivery"), as written.
// Only the parts the guide leaves to the integrator are filled in: processCompletedReport appends
// the event to RECEIVED_LOG so the test can see it, and the server listens on PORT.
import crypto from 'crypto';
import fs from 'fs';
import express, { Request, Response } from 'express';
const app = express();
app.use(express.json());
function verifyWebhookSignature(req: Request): boolean {
const secret = process.env.AVARA_JWT_WEBHOOK_SECRET;
if (!secret) {
throw new Error('AVARA_JWT_WEBHOOK_SECRET not configured');
}
const signature = req.headers['x-avara-signature'] as string;
const timestamp = req.headers['x-avara-timestamp'] as string;
if (!signature || !timestamp) {
return false;
}
const payload = JSON.stringify(req.body);
const expectedSignature = crypto
.createHmac('sha256', secret)
.update(timestamp + payload)
.digest('hex');
return crypto.timingSafeEqual(
Buffer.from(signature),
Buffer.from(expectedSignature)
);
}

interface ReportDeliveredWebhookEvent {
id: string; // Format: whe_{32-hex-chars}
type: "report.delivered";
data: {
reportId: string; // Format: rep_{32-hex-chars}
studyId: string; // Format: stu_{32-hex-chars}
plainText?: string; // Report plain text content (optional)
presignedUrl: string; // Presigned URL for PDF download (valid for ~1 hour)
};
}

// See Webhook Security section for verifyWebhookSignature implementation
app.post('/webhooks/avara', async (req: Request, res: Response) => {
if (!verifyWebhookSignature(req)) {
return res.status(401).json({ error: 'Invalid signature' });
}
const event = req.body as ReportDeliveredWebhookEvent;
if (event.type === 'report.delivered') {
const { reportId, studyId, plainText, presignedUrl } = event.data;
// This is your internal business logic
await processCompletedReport({
reportId,
studyId,
plainText,
presignedUrl,
});
res.status(200).json({
success: true,
});
}
});
// This is your internal business logic
async function processCompletedReport(data: {
reportId: string;
studyId: string;
plainText?: string;
presignedUrl: string;
}): Promise<void> {
fs.appendFileSync(process.env.RECEIVED_LOG as string, JSON.stringify(data) + '\n');
}

app.listen(Number(process.env.PORT), '127.0.0.1', () => {
console.log('listening');
});
