module levee.dev/tools/modzip

go 1.26.0
