from tests.support.sessions_service import SessionsService


async def test_a_driver_activates_arrives_and_the_merchant_redeems(
    service: SessionsService,
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    created = await service.activate(driver, place)
    assert created.status_code == 201, created.text
    session = created.json()
    arrived = await service.call("POST", f"/v1/exclusive-sessions/{session['id']}/arrival", driver)
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["status"] == "arrived"
    redeemed = await service.call(
        "POST",
        f"/v1/merchants/{place.merchant['id']}/redemptions",
        place.owner,
        json={"code": session["offer_code"]},
    )
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["amount_minor"] == 250
