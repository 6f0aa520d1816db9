<#
    Two inline steps for the JSON round-trip test across a process crash, returned as an ordered dictionary:

      * produce: returns New-RoundTripPayload (TestHelpers.psm1).
      * inspect: compares what it received ($Previous, $_ and $ArcpStep.PreviousOutput) with a fresh
        payload using Compare-DeepValue, and writes the outcome as JSON to $env:ARCP_TEST_SEEN:
        { Compared, Differences, TimeZone, UtcOffset }. Returns 'inspected'.
#>
Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1')
[ordered]@{
    produce = { New-RoundTripPayload }
    inspect = {
        param($Previous)
        $compared = 0
        $differences = @(
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $Previous -Path '$Previous' -Counter ([ref]$compared)
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $_ -Path '$_'
            Compare-DeepValue -Expected (New-RoundTripPayload) -Actual $ArcpStep.PreviousOutput -Path '$ArcpStep.PreviousOutput'
        )
        $outcome = [ordered]@{
            Compared    = $compared
            Differences = [string[]]$differences
            TimeZone    = [TimeZoneInfo]::Local.Id
            UtcOffset   = [TimeZoneInfo]::Local.GetUtcOffset([datetime]::new(2024, 7, 1, 0, 0, 0, [DateTimeKind]::Utc)).ToString()
        }
        [IO.File]::WriteAllText($env:ARCP_TEST_SEEN, (ConvertTo-Json -InputObject $outcome -Depth 5))
        'inspected'
    }
}
