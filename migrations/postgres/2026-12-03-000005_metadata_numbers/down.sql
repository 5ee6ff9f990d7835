DROP TABLE artifact_numbers;
