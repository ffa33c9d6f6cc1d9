"""EventBridge-style event patterns, shared by every service that filters events.

`pattern.compile_pattern` turns a pattern's JSON text into an `EventPattern` once; its
`matches` then runs per event (SQS event source mapping `FilterCriteria` today,
EventBridge rules later). The compiler lives in `pattern_compile` (fields, `$or`
branches) and `pattern_operators` (one matcher per operator), the matchers and the event
walk in `pattern_match`; `errors.PatternError` is what every check raises.
"""
