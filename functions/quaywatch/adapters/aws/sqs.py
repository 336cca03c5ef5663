"""WorkQueue on SQS. Lambda's event-source mapping does the receiving in the deployed stack;
``receive``/``ack`` serve the contract tests and any poller that wants them. The dead-letter
queue and ``maxReceiveCount`` come from the queue's redrive policy (template.yaml)."""

from __future__ import annotations

import json
from typing import Any

from quaywatch.ports import QueueMessage


class SqsWorkQueue:
    def __init__(self, client: Any, url: str) -> None:
        self._sqs = client
        self.url = url
        self._dead_letter_url: str | None = None

    def send(self, body: str) -> None:
        self._sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def send_many(self, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            response = self._sqs.send_message_batch(
                QueueUrl=self.url, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(chunk)])
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused {len(response['Failed'])} of {len(chunk)} messages")

    def receive(self, max_messages: int, visibility_timeout: int, wait_seconds: float = 0) -> list[QueueMessage]:
        messages = self._sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=min(max_messages, 10), VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=int(wait_seconds), AttributeNames=["All"]).get("Messages", [])
        return [QueueMessage(id=m["MessageId"], body=m["Body"], receipt=m["ReceiptHandle"],
                             receive_count=int(m["Attributes"]["ApproximateReceiveCount"]),
                             sent_at=int(m["Attributes"].get("SentTimestamp", 0)) / 1000) for m in messages]

    def ack(self, message: QueueMessage) -> None:
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)

    def retry_later(self, message: QueueMessage, delay_seconds: int) -> None:
        self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message.receipt,
                                            VisibilityTimeout=delay_seconds)

    def depth(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages",
                                               "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def dead_letters(self) -> list[str]:
        url = self._dead_letter_queue()
        if url is None:
            return []
        bodies: list[str] = []
        seen: set[str] = set()
        while True:  # peek: received with a zero timeout so they stay where they are
            batch = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                              AttributeNames=["All"]).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                return bodies
            for message in fresh:
                seen.add(message["MessageId"])
                bodies.append(message["Body"])

    def _dead_letter_queue(self) -> str | None:
        if self._dead_letter_url is None:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"])
            policy = attributes.get("Attributes", {}).get("RedrivePolicy")
            if not policy:
                return None
            arn = json.loads(policy)["deadLetterTargetArn"]
            self._dead_letter_url = self._sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
        return self._dead_letter_url
