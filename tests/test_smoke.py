from wagtail_journeys.models import Event


def test_page_view_is_recorded(client, bookshop):
    response = client.get("/books/the-shining/", HTTP_HOST="localhost")
    assert response.status_code == 200
    event = Event.objects.get(name="page_view")
    assert event.properties["tags"] == ["horror", "stephen-king"]
