"""The usage API: POST /api/usage/ and GET /api/usage/batches/<id>/."""
