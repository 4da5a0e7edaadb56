"""Quality-scoring benchmark: `score_table` on a large text table beside a plain pandas profile."""
