"""The adapter that speaks Clio Manage API v4: HTTP client, paging, rate limits, OAuth."""
