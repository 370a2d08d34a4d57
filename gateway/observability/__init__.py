"""What the gateway tells its operators about itself: structured logs."""
