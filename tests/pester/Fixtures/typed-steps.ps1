<#
    Three inline steps for the typed round-trip table, returned as an ordered dictionary:

      * produce: returns the table of Fixtures/typed-values.ps1 (an [ordered] dictionary).
      * inspect: writes what it received to $env:ARCP_TEST_SEEN/inspect.json: { Top, Entries = { case: description } }
        (descriptions by Get-ValueDescription), then returns a [hashtable] holding a DateTimeOffset.
      * finish:  writes the description of what it received to $env:ARCP_TEST_SEEN/finish.json. Returns 'done'.
#>
Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1')
$values = Join-Path $PSScriptRoot 'typed-values.ps1'
# Loads [ArcpTestShade] in this process, as a workflow file that defines its own enum would.
$null = & $values
[ordered]@{
    produce = { & $values }.GetNewClosure()
    inspect = {
        $entries = [ordered]@{}
        foreach ($key in $_.Keys) { $entries[$key] = Get-ValueDescription $_[$key] }
        $seen = [ordered]@{ Top = $_.GetType().FullName; Entries = $entries }
        [IO.File]::WriteAllText((Join-Path $env:ARCP_TEST_SEEN 'inspect.json'), (ConvertTo-Json -InputObject $seen -Depth 5))
        @{ Kind = 'top-level hashtable'; At = [DateTimeOffset]::new(2024, 1, 2, 3, 4, 5, [TimeSpan]::FromHours(-3)) }
    }
    finish  = {
        [IO.File]::WriteAllText((Join-Path $env:ARCP_TEST_SEEN 'finish.json'), (ConvertTo-Json -InputObject (Get-ValueDescription $_)))
        'done'
    }
}
