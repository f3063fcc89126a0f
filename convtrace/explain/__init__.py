"""One cell of the trace written as its sum, term by term."""
